"""A Reddit poll that fails, with the real praw client against failure recordings: rate
limits, server errors, timeouts, truncated bodies, refused credentials, private subreddits,
a damaged cursor. One listing failing while the other answers is in
test_reddit_listing_failures.py."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from collectors.base import SourceError
from collectors.live.reddit import RedditCursor
from collectors.runner import run_once
from core.store import Store
from core.times import utcnow
from tests.collectors.live.reddit_support import (
    CC_COMMENTS,
    CC_POSTS,
    DATA,
    MakeSettings,
    comment_paths,
    one_collector,
)
from tests.collectors.reddit_replay import RedditReplay, load_cassette, replay

# --- failures -------------------------------------------------------------------------------------


def test_429_with_reset_is_a_source_error_and_nothing_is_sent_until_reset(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "ratelimited_429.json") as rr:
        settings = make_settings(rr)
        collector = one_collector(settings)
        first = run_once(collector, sqlite_store, settings.http)
        second = run_once(collector, sqlite_store, settings.http)

    assert not first.ok and first.error is not None
    assert first.error.startswith("rate-limited")
    assert "retry-after 240" in first.error and "x-ratelimit-reset 240" in first.error
    # The second poll is refused by the client itself: Reddit asked for 240 s of quiet.
    assert not second.ok and second.error is not None and "waiting" in second.error
    assert len(rr.api_requests) == 1
    state = sqlite_store.sources.state(collector.name)
    assert state.consecutive_failures == 2
    assert [w.reason for w in sqlite_store.sources.warnings(collector.name)] == ["rate-limited"] * 2


def test_500s_after_prawcore_retries_open_the_circuit(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "server_error_500.json") as rr:
        settings = make_settings(rr, http={"breaker_threshold": 1, "breaker_cooldown_s": 60})
        collector = one_collector(settings)
        failed = run_once(collector, sqlite_store, settings.http)
        skipped = run_once(collector, sqlite_store, settings.http)

    assert not failed.ok and failed.error is not None and failed.error.startswith("http-500")
    assert len(rr.api_requests) == 3  # prawcore's three tries, then it gave up
    assert skipped.skipped and skipped.error == "circuit-open"
    state = sqlite_store.sources.state(collector.name)
    assert state.consecutive_failures == 1
    assert state.circuit_open_until is not None
    assert state.circuit_open_until > utcnow() + timedelta(seconds=30)
    assert sqlite_store.documents.count() == 0


def test_slow_listing_times_out_with_the_configured_timeout(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "slow_listing.json") as rr:
        settings = make_settings(rr, http={"timeout_s": 0.3})
        collector = one_collector(settings)
        started = time.monotonic()
        outcome = run_once(collector, sqlite_store, settings.http)
        elapsed = time.monotonic() - started

    assert not outcome.ok and outcome.error is not None and outcome.error.startswith("timeout")
    assert elapsed < 10  # three 0.3 s tries and prawcore's short sleeps, not 3 x 16 s
    assert sqlite_store.sources.state(collector.name).consecutive_failures == 1
    assert sqlite_store.sources.warnings(collector.name)[0].reason == "timeout"


def test_truncated_listing_body_is_a_source_error_and_stores_nothing(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "truncated_listing.json") as rr:
        settings = make_settings(rr)
        collector = one_collector(settings)
        outcome = run_once(collector, sqlite_store, settings.http)

    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith("truncated-body")
    assert sqlite_store.documents.count() == 0
    assert sqlite_store.sources.state(collector.name).cursor == {}


def test_one_503_on_a_comment_page_is_retried_by_prawcore(make_settings: MakeSettings) -> None:
    with replay(DATA / "server_error_then_ok.json", DATA / "cryptocurrency_poll.json") as rr:
        result = one_collector(make_settings(rr)).collect({})

    assert result.warnings == ()
    assert {d.source_id for d in result.documents} == CC_POSTS | CC_COMMENTS
    assert comment_paths(rr).count("1bcq7xa") == 2


def test_comment_outage_keeps_posts_records_warning_and_resumes_next_poll(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "comments_outage.json", DATA / "cryptocurrency_poll.json") as rr:
        settings = make_settings(rr)
        collector = one_collector(settings)
        first = run_once(collector, sqlite_store, settings.http)
        cursor = RedditCursor.parse(sqlite_store.sources.state(collector.name).cursor)
        second = run_once(collector, sqlite_store, settings.http)

    assert first.ok and first.warnings == 1
    [warning] = sqlite_store.sources.warnings(collector.name)
    assert warning.reason == "http-500" and "t3_1bcpz3k" in warning.detail
    # Fetching stopped at the failing thread: only the one before it is marked as done.
    assert set(cursor.comments) == {"t3_1bcq7xa"}
    assert second.ok
    assert sqlite_store.documents.count() == len(CC_POSTS | CC_COMMENTS)
    assert comment_paths(rr).count("1bcq7xa") == 1


def test_refused_credentials_are_an_auth_failure(make_settings: MakeSettings) -> None:
    with replay(DATA / "auth_401.json") as rr:
        collector = one_collector(make_settings(rr))
        with pytest.raises(SourceError) as err:
            collector.collect({})

    assert err.value.reason == "auth-failed"
    assert rr.api_requests == []


def test_private_subreddit_is_forbidden(make_settings: MakeSettings) -> None:
    with replay(DATA / "private_403.json") as rr:
        collector = one_collector(make_settings(rr), "SecretAlphaClub")
        with pytest.raises(SourceError) as err:
            collector.collect({})

    assert err.value.reason == "forbidden"
    assert err.value.source == "reddit:SecretAlphaClub"


def test_damaged_cursor_starts_afresh(cc_replay: RedditReplay, make_settings: MakeSettings) -> None:
    collector = one_collector(make_settings(cc_replay))
    result = collector.collect({"v": 1, "listings": {"new": {"seen": 5}}, "comments": "x"})
    assert len(result.documents) == len(CC_POSTS | CC_COMMENTS)


def test_recordings_load_in_both_cassette_formats() -> None:
    praw_style = load_cassette(DATA / "cryptocurrency_poll.json")
    betamax = load_cassette(DATA / "ethereum_betamax.json")

    assert praw_style[1].path == "/r/CryptoCurrency/new"
    assert praw_style[1].query == (("limit", "5"), ("raw_json", "1"))
    assert all(not k.lower().startswith("x-ratelimit") for k, _ in praw_style[1].headers)
    assert json.loads(betamax[0].body)["kind"] == "Listing"
    assert all(k.lower() != "content-encoding" for k, _ in betamax[0].headers)
