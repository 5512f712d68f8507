"""CryptoPanic posts API over loopback: paging through ``next``, a cursor that resumes,
votes/domain/currencies into records, and every failure mode as SourceError or warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from collectors.assets import AssetTagger
from collectors.base import SourceError
from collectors.http import HttpFetcher
from collectors.live.cryptopanic import CryptoPanicCollector
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.records import document_id
from core.settings import HttpSettings, NewsSettings, Settings
from core.store import Store
from tests.loopback import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parents[2] / "data" / "news"
PATH = "/api/developer/v2/posts/"
TOKEN = "sekrit-token-123"


def recorded(name: str, base: str) -> dict:  # type: ignore[type-arg]
    text = (DATA / name).read_text(encoding="utf-8")
    return json.loads(text.replace("{base}", base).replace("{token}", TOKEN))


def as_reply(data: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data), {"Content-Type": "application/json"})


@pytest.fixture
def cp_settings(settings: Settings, loopback: LoopbackServer) -> Settings:
    return settings.model_copy(
        update={
            "news": NewsSettings(cryptopanic_token=TOKEN, cryptopanic_url=loopback.url(PATH)),
            "http": HttpSettings(retries=0, backoff_base_s=0, timeout_s=2),
        }
    )


def serve_pages(loopback: LoopbackServer, pages: dict[str, Reply]) -> list[Request]:
    """Route the posts endpoint by its ``page`` parameter; returns the requests seen."""
    seen: list[Request] = []

    def handler(req: Request) -> Reply:
        seen.append(req)
        return pages.get(req.query.get("page", "1"), Reply(404, "no such page"))

    loopback.route(PATH, handler)
    return seen


def two_pages(loopback: LoopbackServer) -> dict[str, Reply]:
    base = loopback.base_url
    return {
        "1": as_reply(recorded("cryptopanic_page1.json", base)),
        "2": as_reply(recorded("cryptopanic_page2.json", base)),
    }


def collector(settings: Settings, **kw: object) -> CryptoPanicCollector:
    return CryptoPanicCollector(settings.news, settings.http, AssetTagger(), **kw)  # type: ignore[arg-type]


def test_without_a_token_the_source_is_skipped_with_a_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="collectors.live.cryptopanic"):
        assert build_source("cryptopanic", settings) == []
    assert "CryptoPanic skipped: no token" in caplog.text


def test_pages_are_followed_and_posts_keep_votes_domain_and_currencies(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    seen = serve_pages(loopback, two_pages(loopback))
    result = collector(cp_settings).collect({})

    assert len(result.documents) == 5 and not result.warnings and not result.more
    assert [r.query.get("page", "1") for r in seen] == ["1", "2"]
    assert all(r.query["auth_token"] == TOKEN for r in seen)
    top = result.documents[0]
    assert top.id == document_id(
        url="https://coindesk.example/markets/2024/03/12/bitcoin-tops-70000/"
    )
    assert top.source_id == "19500005"
    assert top.text == "Spot bitcoin funds logged their largest inflows in a month."
    assert top.metadata["votes"]["positive"] == 14 and top.metadata["votes"]["important"] == 6
    assert top.metadata["domain"] == "coindesk.example"
    assert top.metadata["panic_score"] == 71
    assert top.assets == ("BTC",)
    by_title = {d.title: d for d in result.documents}
    solana = by_title["Solana validators push fix after brief outage"]
    assert solana.assets == ("SOL",) and solana.metadata["domain"] == "theblock.example"
    assert solana.url == "https://cryptopanic.example/news/19500004/Solana-validators-push-fix"
    wrap = by_title["Weekly market wrap: XRP and Cardano lead altcoins"]
    assert wrap.assets == ("ADA", "XRP")  # no currencies listed: the tagger finds them
    assert wrap.metadata["domain"] == "youtube.example" and wrap.metadata["kind"] == "media"
    assert by_title["Dogecoin jumps on meme revival"].metadata["votes"]["positive"] == 3
    assert result.cursor == {
        "newest": {"published_at": "2024-03-12T14:05:00+00:00", "id": 19500005}
    }
    assert TOKEN not in json.dumps(result.cursor)


def test_repoll_fetches_only_posts_newer_than_the_cursor(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    pages = two_pages(loopback)
    seen = serve_pages(loopback, pages)
    first = collector(cp_settings).collect({})
    assert first.cursor is not None

    page1 = recorded("cryptopanic_page1.json", loopback.base_url)
    fresh = {
        "id": 19500006,
        "title": "Ether ETF decision delayed again",
        "published_at": "2024-03-12T15:00:00Z",
        "url": "https://cryptopanic.example/news/19500006/Ether-ETF-decision-delayed",
        "currencies": [{"code": "ETH"}],
        "votes": {"negative": 4},
    }
    page1["results"] = [fresh, *page1["results"]]
    pages["1"] = as_reply(page1)
    seen.clear()
    second = collector(cp_settings).collect(dict(first.cursor))

    assert [d.source_id for d in second.documents] == ["19500006"]
    assert [r.query.get("page", "1") for r in seen] == ["1"]  # stopped at the cursor
    assert second.cursor == {
        "newest": {"published_at": "2024-03-12T15:00:00+00:00", "id": 19500006}
    }


def test_page_limit_saves_where_it_stopped_and_the_next_poll_fills_the_gap(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    seen = serve_pages(loopback, two_pages(loopback))
    first = collector(cp_settings, max_pages=1).collect({})
    assert len(first.documents) == 3 and first.more
    assert first.cursor is not None
    pending = first.cursor["pending"]
    assert pending["next"].endswith("?page=2&public=true") and TOKEN not in pending["next"]

    second = collector(cp_settings, max_pages=1).collect(dict(first.cursor))
    assert [d.source_id for d in second.documents] == ["19500002", "19500001"]
    assert not second.more
    assert second.cursor == {
        "newest": {"published_at": "2024-03-12T14:05:00+00:00", "id": 19500005}
    }
    assert seen[-1].query["auth_token"] == TOKEN  # the token is added back to a stored link


def test_rejected_token_is_a_source_error_http_401(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    serve_pages(loopback, {"1": as_reply({"status": "Incomplete", "info": "Token not found"}, 401)})
    with pytest.raises(SourceError) as err:
        collector(cp_settings).collect({})
    assert err.value.reason == "http-401"
    assert TOKEN not in str(err.value)


def test_429_with_retry_after_waits_that_long_then_succeeds(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    pages = two_pages(loopback)
    replies = [Reply(429, "slow down", {"Retry-After": "7"}), pages["1"]]
    loopback.route(
        PATH, lambda req: replies.pop(0) if req.query.get("page") is None else pages["2"]
    )
    slept: list[float] = []
    fetcher = HttpFetcher(
        cp_settings.http.model_copy(update={"retries": 2}), source="cryptopanic", sleep=slept.append
    )
    result = collector(cp_settings, fetcher=fetcher).collect({})
    assert len(result.documents) == 5
    assert slept and slept[0] >= 7


def test_server_error_after_retries_is_a_source_error_and_keeps_the_cursor(
    cp_settings: Settings, loopback: LoopbackServer, sqlite_store: Store
) -> None:
    seen = serve_pages(loopback, {"1": Reply(500, "boom")})
    fetcher = HttpFetcher(
        cp_settings.http.model_copy(update={"retries": 1}),
        source="cryptopanic",
        sleep=lambda s: None,
    )
    sqlite_store.sources.record_result("cryptopanic", ok=True, cursor={"newest": None})
    outcome = run_once(collector(cp_settings, fetcher=fetcher), sqlite_store, cp_settings.http)
    assert not outcome.ok and outcome.error is not None and outcome.error.startswith("http-500")
    assert len(seen) == 2  # one retry
    assert sqlite_store.sources.state("cryptopanic").cursor == {"newest": None}


def test_timeout_is_a_source_error(cp_settings: Settings, loopback: LoopbackServer) -> None:
    slow = cp_settings.model_copy(update={"http": HttpSettings(retries=0, timeout_s=0.3)})
    serve_pages(loopback, {"1": Reply(200, "{}", delay_s=1.5)})
    with pytest.raises(SourceError) as err:
        collector(slow).collect({})
    assert err.value.reason == "timeout"


def test_malformed_json_on_the_first_page_is_a_source_error(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    serve_pages(loopback, {"1": Reply(200, '{"results": [{"id": 1,', {"Content-Type": "json"})})
    with pytest.raises(SourceError) as err:
        collector(cp_settings).collect({})
    assert err.value.reason == "malformed-json"


def test_malformed_later_page_keeps_earlier_posts_and_retries_that_page_next_time(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    pages = two_pages(loopback)
    good_page2 = pages["2"]
    pages["2"] = Reply(200, "<html>maintenance</html>", {"Content-Type": "text/html"})
    serve_pages(loopback, pages)
    first = collector(cp_settings).collect({})
    assert len(first.documents) == 3
    assert [w.reason for w in first.warnings] == ["malformed-json"]
    assert first.cursor is not None and "pending" in first.cursor and not first.more

    pages["2"] = good_page2
    second = collector(cp_settings).collect(dict(first.cursor))
    assert [d.source_id for d in second.documents] == ["19500002", "19500001"]
    assert second.cursor is not None and "pending" not in second.cursor


def test_posts_without_id_or_date_become_warnings(
    cp_settings: Settings, loopback: LoopbackServer
) -> None:
    page = {
        "next": None,
        "results": [
            {"title": "No id", "published_at": "2024-03-12T10:00:00Z"},
            {"id": 7, "title": "Bad date", "published_at": "yesterday"},
            {"id": 8, "title": "Cardano upgrade ships", "published_at": "2024-03-12T10:00:00Z"},
        ],
    }
    serve_pages(loopback, {"1": as_reply(page)})
    result = collector(cp_settings).collect({})
    assert [d.source_id for d in result.documents] == ["8"]
    assert [w.reason for w in result.warnings] == ["bad-post", "bad-post"]


def test_runner_stores_posts_once_and_resumes_from_the_saved_cursor(
    cp_settings: Settings, loopback: LoopbackServer, sqlite_store: Store
) -> None:
    seen = serve_pages(loopback, two_pages(loopback))
    (source,) = build_source("cryptopanic", cp_settings, CollectOptions())
    first = run_once(source, sqlite_store, cp_settings.http)
    second = run_once(source, sqlite_store, cp_settings.http)

    assert first.ok and first.ingest.new == 5
    assert second.ok and second.ingest.new == 0
    assert len(seen) == 3  # page 1, page 2, then page 1 again up to the cursor
    assert sqlite_store.documents.count() == 5
