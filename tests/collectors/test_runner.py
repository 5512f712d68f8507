"""run_once with real feed collectors over loopback: the circuit breaker, recorded failures,
warnings and cursors, and one source's trouble never stopping another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.assets import AssetTagger
from collectors.live.rss import FeedparserCollector
from collectors.runner import circuit_open, run_once
from core.settings import HttpSettings
from core.store import Store
from tests.loopback import LoopbackServer, Reply

HTTP = HttpSettings(timeout_s=0.3, retries=0, backoff_base_s=0.01, breaker_cooldown_s=60)
GOOD_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Good feed</title>
<item><title>Bitcoin holds above support</title><link>https://good.example/1</link>
<pubDate>Wed, 14 Jan 2026 09:30:00 GMT</pubDate><description>BTC steady.</description></item>
<item><title>Ether funding turns positive</title><link>https://good.example/2</link>
<pubDate>not a date</pubDate><description>ETH perps.</description></item>
</channel></rss>"""


def feed(loopback: LoopbackServer, path: str, name: str) -> FeedparserCollector:
    return FeedparserCollector(name, loopback.url(path), http=HTTP, tagger=AssetTagger())


def hits(loopback: LoopbackServer, path: str) -> int:
    return sum(1 for r in loopback.requests if r.path == path)


def test_circuit_opens_after_five_failures_and_other_sources_carry_on(
    loopback: LoopbackServer, store: Store
) -> None:
    loopback.route("/bad.xml", Reply(500, "down"))
    loopback.route("/good.xml", Reply(200, GOOD_FEED, {"Content-Type": "application/rss+xml"}))
    bad, good = feed(loopback, "/bad.xml", "bad"), feed(loopback, "/good.xml", "good")

    bad_outcomes, good_outcomes = [], []
    for _ in range(6):
        bad_outcomes.append(run_once(bad, store, HTTP))
        good_outcomes.append(run_once(good, store, HTTP))

    assert [o.ok for o in bad_outcomes] == [False] * 6
    assert [o.skipped for o in bad_outcomes] == [False] * 5 + [True]
    assert hits(loopback, "/bad.xml") == 5  # the sixth poll never reached the server
    state = store.sources.state("rss:bad")
    assert state.consecutive_failures == 5
    assert state.last_error is not None and "http-500" in state.last_error
    until = circuit_open(store, "rss:bad")
    assert until is not None
    assert until - datetime.now(UTC) > timedelta(seconds=50)

    assert all(o.ok for o in good_outcomes)
    assert good_outcomes[0].ingest.new == 2
    assert [o.ingest.duplicates for o in good_outcomes[1:]] == [2] * 5
    assert circuit_open(store, "rss:good") is None
    assert store.sources.state("rss:good").consecutive_failures == 0


def test_a_success_resets_the_failure_count(loopback: LoopbackServer, store: Store) -> None:
    replies = iter([Reply(503, "busy")] * 3 + [Reply(200, GOOD_FEED, {})])
    loopback.route("/flaky.xml", lambda req: next(replies))
    flaky = feed(loopback, "/flaky.xml", "flaky")

    outcomes = [run_once(flaky, store, HTTP) for _ in range(4)]

    assert [o.ok for o in outcomes] == [False, False, False, True]
    state = store.sources.state("rss:flaky")
    assert state.consecutive_failures == 0
    assert state.circuit_open_until is None
    assert state.last_success_at is not None


def test_timeouts_and_not_a_feed_are_recorded_as_warnings_with_reason(
    loopback: LoopbackServer, store: Store
) -> None:
    loopback.route("/slow.xml", Reply(200, GOOD_FEED, {}, delay_s=1.0))
    loopback.route("/page.xml", Reply(200, "<html><body>hi</body></html>", {}))

    slow = run_once(feed(loopback, "/slow.xml", "slow"), store, HTTP)
    page = run_once(feed(loopback, "/page.xml", "page"), store, HTTP)

    assert not slow.ok and slow.error is not None and slow.error.startswith("timeout")
    assert not page.ok and page.error is not None and page.error.startswith("not-a-feed")
    assert [w.reason for w in store.sources.warnings("rss:slow")] == ["timeout"]
    assert [w.reason for w in store.sources.warnings("rss:page")] == ["not-a-feed"]
    assert store.documents.count() == 0


def test_entry_warnings_and_cursor_are_stored_with_the_documents(
    loopback: LoopbackServer, store: Store
) -> None:
    loopback.route(
        "/good.xml",
        Reply(200, GOOD_FEED, {"Content-Type": "application/rss+xml", "ETag": '"g1"'}),
    )
    outcome = run_once(feed(loopback, "/good.xml", "good"), store, HTTP)

    assert outcome.ok and outcome.warnings == 1
    (warning,) = store.sources.warnings("rss:good")
    assert warning.reason == "bad-date" and "not a date" in warning.detail
    state = store.sources.state("rss:good")
    assert state.cursor == {"url": loopback.url("/good.xml"), "etag": '"g1"'}
    assert state.items_today == 2
