"""The offline demo: project-written feeds served from 127.0.0.1 through the real collector."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest

from collectors.assets import AssetTagger
from collectors.live.demo import DEMO_FEEDS_DIR, DemoFeedServer, internet_reachable, use_demo
from collectors.live.rss import FeedparserCollector
from collectors.runner import run_once
from core.settings import DemoSettings, HttpSettings
from core.store import Store
from tests.loopback import LoopbackServer, Reply

HTTP = HttpSettings(timeout_s=2, retries=0)
SIX = {"BTC", "ETH", "SOL", "XRP", "DOGE", "ADA"}


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoFeedServer]:
    with DemoFeedServer() as server:
        yield server


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_demo_feeds_are_marked_as_demo_and_mix_rss_and_atom() -> None:
    versions = set()
    for path in sorted(DEMO_FEEDS_DIR.glob("*.xml")):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, path.name
        assert parsed.feed.title.startswith("Cryptosense demo: "), path.name
        assert 12 <= len(parsed.entries) <= 20, path.name
        versions.add(parsed.version[:4])
    assert len(list(DEMO_FEEDS_DIR.glob("*.xml"))) >= 5
    assert versions == {"rss2", "atom"}


def test_demo_server_serves_every_feed_with_etag_and_answers_304(demo: DemoFeedServer) -> None:
    specs = demo.feed_specs()
    assert len(specs) == len(list(DEMO_FEEDS_DIR.glob("*.xml")))
    assert all(s.name.startswith("demo-") and s.url.startswith("http://127.0.0.1:") for s in specs)
    with httpx.Client(trust_env=False) as client:
        for spec in specs:
            first = client.get(spec.url)
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("application/")
            again = client.get(spec.url, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
            since = client.get(
                spec.url, headers={"If-Modified-Since": first.headers["last-modified"]}
            )
            assert since.status_code == 304
        assert client.get(f"{demo.base_url}/feeds/nope.xml").status_code == 404
        assert client.get(f"{demo.base_url}/etc/passwd").status_code == 404


def test_demo_feeds_through_the_collector_show_dedupe_warnings_and_every_asset(
    demo: DemoFeedServer, sqlite_store: Store
) -> None:
    tagger = AssetTagger()
    collectors = [
        FeedparserCollector(s.name, s.url, http=HTTP, tagger=tagger) for s in demo.feed_specs()
    ]
    outcomes = [run_once(c, sqlite_store, HTTP) for c in collectors]

    assert all(o.ok for o in outcomes)
    total = sum(o.ingest.new + o.ingest.duplicates + o.ingest.merged for o in outcomes)
    new = sum(o.ingest.new for o in outcomes)
    assert total >= 75
    assert total - new >= 2  # stories shared between feeds are stored once
    assert sqlite_store.documents.count() == new
    assert set(sqlite_store.documents.assets()) >= SIX
    reasons = {w.reason for w in sqlite_store.sources.warnings()}
    assert reasons == {"bad-date"}  # the one deliberate defect

    again = [run_once(c, sqlite_store, HTTP) for c in collectors]
    assert all(o.ok and o.ingest.new == 0 and o.ingest.duplicates == 0 for o in again)  # 304s


def test_demo_item_with_script_keeps_no_script_in_stored_text(demo: DemoFeedServer) -> None:
    spec = next(s for s in demo.feed_specs() if s.name == "demo-onchain-notes")
    result = FeedparserCollector(spec.name, spec.url, http=HTTP, tagger=AssetTagger()).collect({})
    dormant = next(d for d in result.documents if "Dormant" in d.title)
    assert "script" not in dormant.text and "document.write" not in dormant.text


def test_demo_server_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DemoFeedServer(tmp_path)


def test_internet_reachable_is_true_for_any_http_answer(loopback: LoopbackServer) -> None:
    loopback.route("/", Reply(503, "busy"), method="HEAD")
    assert internet_reachable(loopback.url("/"), timeout=1)


def test_internet_reachable_is_false_when_nothing_answers() -> None:
    assert not internet_reachable(_closed_port_url(), timeout=0.5)


def test_use_demo_follows_the_mode_and_probes_only_in_auto(loopback: LoopbackServer) -> None:
    loopback.route("/", Reply(200, ""), method="HEAD")
    closed = _closed_port_url()
    assert use_demo(DemoSettings(mode="on", probe_url=loopback.url("/")))
    assert not use_demo(DemoSettings(mode="off", probe_url=closed))
    assert not loopback.requests  # on/off never probe
    assert not use_demo(DemoSettings(mode="auto", probe_url=loopback.url("/")))
    assert use_demo(DemoSettings(mode="auto", probe_url=closed, probe_timeout_s=0.5))
