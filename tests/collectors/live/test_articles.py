"""Article pages linked from feeds, over loopback: main text extracted without boilerplate or
script, robots.txt obeyed (fetched once per host), per-host spacing, and every failure keeping
the feed summary with a recorded reason."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from collectors.live.articles import ArticleExtractor, NewsCollector
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.records import document_id
from core.settings import HttpSettings, NewsSettings, Settings
from core.store import Store
from tests.loopback import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parents[2] / "data" / "news"
ROBOTS = "User-agent: *\nDisallow: /private/\n"
SUMMARY = "Funds took in record money. Read more..."


@pytest.fixture
def news_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "http": HttpSettings(retries=0, backoff_base_s=0, timeout_s=2),
            "news": NewsSettings(per_host_interval_s=0),
        }
    )


def article_reply() -> Reply:
    return Reply(
        200, (DATA / "article.html").read_bytes(), {"Content-Type": "text/html; charset=utf-8"}
    )


@pytest.fixture
def site(loopback: LoopbackServer) -> LoopbackServer:
    """A news site: a feed, robots.txt, one good article and three that cannot be used."""
    feed = (DATA / "feed.xml").read_text(encoding="utf-8").replace("{base}", loopback.base_url)
    loopback.route("/feed.xml", Reply(200, feed, {"Content-Type": "application/rss+xml"}))
    loopback.route("/robots.txt", Reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    loopback.route("/news/btc-etf-record", article_reply())
    loopback.route("/private/solana-desk-notes", article_reply())
    loopback.route(
        "/files/eth-report.pdf",
        Reply(200, b"%PDF-1.7\n%binary report\n", {"Content-Type": "application/pdf"}),
    )
    loopback.route("/news/doge-broken", Reply(500, "internal error"))
    return loopback


def news_collector(settings: Settings, site: LoopbackServer) -> NewsCollector:
    options = CollectOptions(url=site.url("/feed.xml"), name="example")
    (collector,) = build_source("news", settings, options)
    assert isinstance(collector, NewsCollector)
    return collector


def paths(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests]


def test_article_text_replaces_summary_and_failures_keep_summary_with_reasons(
    news_settings: Settings, site: LoopbackServer, sqlite_store: Store
) -> None:
    collector = news_collector(news_settings, site)
    outcome = run_once(collector, sqlite_store, news_settings.http)

    assert outcome.ok and outcome.ingest.new == 4
    btc = sqlite_store.documents.get(document_id(url=site.url("/news/btc-etf-record")))
    assert btc is not None
    assert btc.source == "news:example"
    assert "record amount of new money" in btc.text
    assert "short liquidations" in btc.text and "funding rates" in btc.text
    for junk in ("Subscribe", "Copyright", "Related stories", "Log in", "enable JavaScript"):
        assert junk not in btc.text
    for script in ("alert(", "document.cookie", "evil.example", "javascript:", "UA-000"):
        assert script not in btc.text
    assert btc.metadata["summary"] == SUMMARY
    assert btc.assets == ("BTC", "ETH")  # ether is named only in the article
    assert btc.lang == "en"

    reasons = {w.reason: w.detail for w in sqlite_store.sources.warnings("news:example")}
    assert set(reasons) == {"robots-disallow", "not-html", "http-500"}
    assert "/private/solana-desk-notes" in reasons["robots-disallow"]
    for path, reason in (
        ("/private/solana-desk-notes", "robots-disallow"),
        ("/files/eth-report.pdf", "not-html"),
        ("/news/doge-broken", "http-500"),
    ):
        doc = sqlite_store.documents.get(document_id(url=site.url(path)))
        assert doc is not None and doc.metadata["article_error"] == reason
        assert doc.text and doc.text != btc.text  # the feed summary, kept
    assert "/private/solana-desk-notes" not in paths(site)
    assert paths(site).count("/robots.txt") == 1


def test_entries_tried_before_are_not_fetched_again_on_the_next_poll(
    news_settings: Settings, site: LoopbackServer
) -> None:
    collector = news_collector(news_settings, site)
    first = collector.collect({})
    assert first.cursor is not None and len(first.cursor["seen"]) == 4
    site.requests.clear()

    second = collector.collect(dict(first.cursor))
    assert second.documents == () and second.warnings == ()
    assert paths(site) == ["/feed.xml"]


def test_with_article_fetching_off_the_feed_summaries_are_kept(
    news_settings: Settings, site: LoopbackServer
) -> None:
    off = news_settings.model_copy(
        update={"news": NewsSettings(per_host_interval_s=0, fetch_articles=False)}
    )
    result = news_collector(off, site).collect({})
    btc = next(d for d in result.documents if d.title.startswith("Bitcoin"))
    assert btc.text == SUMMARY and btc.source == "news:example"
    assert result.warnings == ()
    assert paths(site) == ["/feed.xml"]


def test_per_host_rate_limit_spaces_article_requests(
    news_settings: Settings, loopback: LoopbackServer
) -> None:
    stamps: list[float] = []

    def timed(req: Request) -> Reply:
        stamps.append(time.monotonic())
        return article_reply()

    loopback.route("/robots.txt", Reply(404, "none"))
    for i in range(3):
        loopback.route(f"/news/{i}", timed)
    extractor = ArticleExtractor(news_settings.http, per_host_interval_s=0.3)
    results = [extractor.extract(loopback.url(f"/news/{i}")) for i in range(3)]

    assert all(r.ok for r in results)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) == 2 and min(gaps) >= 0.25, gaps


def test_unreachable_robots_txt_disallows_the_host_and_missing_one_allows_it(
    news_settings: Settings, loopback: LoopbackServer
) -> None:
    loopback.route("/robots.txt", Reply(503, "down"))
    loopback.route("/news/a", article_reply())
    blocked = ArticleExtractor(news_settings.http, 0).extract(loopback.url("/news/a"))
    assert blocked.reason == "robots-disallow"
    assert "/news/a" not in paths(loopback)

    loopback.route("/robots.txt", Reply(404, "not found"))
    allowed = ArticleExtractor(news_settings.http, 0).extract(loopback.url("/news/a"))
    assert allowed.ok and allowed.title == "Bitcoin climbs as spot ETF inflows hit a record"


def test_page_without_enough_main_text_is_refused_as_extract_empty(
    news_settings: Settings, loopback: LoopbackServer
) -> None:
    loopback.route("/robots.txt", Reply(404, ""))
    teaser = "<html><body><nav>Home</nav><p>Sign in to read.</p><script>x()</script></body></html>"
    loopback.route("/news/teaser", Reply(200, teaser, {"Content-Type": "text/html"}))
    got = ArticleExtractor(news_settings.http, 0).extract(loopback.url("/news/teaser"))
    assert not got.ok and got.reason == "extract-empty"


def test_html_served_without_content_type_is_sniffed_and_extracted(
    news_settings: Settings, loopback: LoopbackServer
) -> None:
    loopback.route("/robots.txt", Reply(404, ""))
    loopback.route("/news/untyped", Reply(200, (DATA / "article.html").read_bytes()))
    got = ArticleExtractor(news_settings.http, 0).extract(loopback.url("/news/untyped"))
    assert got.ok and got.text is not None and "record amount of new money" in got.text
