"""Polling Reddit over time with the real praw client against recordings: the cursor,
idempotent re-polls, paging limits, the rate-limit budget, and which subreddits are polled."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from collectors.base import SourceError
from collectors.live.reddit import ListingMark, RedditCursor
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once, store_result
from core.records import Document
from core.settings import Settings
from core.store import Store
from core.store.tables import DocumentRow
from tests.collectors.live.reddit_support import (
    CC,
    CC_COMMENTS,
    CC_POSTS,
    CC_THREADS,
    DATA,
    MakeSettings,
    comment_paths,
    one_collector,
)
from tests.collectors.reddit_replay import RedditReplay, listing_reply, replay

# --- cursor, idempotence, politeness --------------------------------------------------------------


def test_repoll_into_store_is_idempotent_and_skips_unchanged_threads(
    cc_replay: RedditReplay, make_settings: MakeSettings, store: Store
) -> None:
    settings = make_settings(cc_replay)
    collector = one_collector(settings)

    first = run_once(collector, store, settings.http)
    second = run_once(collector, store, settings.http)

    assert first.ok and first.ingest.new == len(CC_POSTS | CC_COMMENTS)
    assert second.ok and second.ingest.new == 0
    assert store.documents.count() == len(CC_POSTS | CC_COMMENTS)
    # The second poll read both listings again but no comment page: no thread grew.
    assert comment_paths(cc_replay) == CC_THREADS
    assert [r.path for r in cc_replay.api_requests[-2:]] == [f"/r/{CC}/new", f"/r/{CC}/hot"]
    cursor = RedditCursor.parse(store.sources.state(collector.name).cursor)
    assert cursor.comments == {
        "t3_1bcq7xa": 6,
        "t3_1bcpz3k": 4,
        "t3_1bcpqvm": 3,
        "t3_1bc3n0p": 3,
        "t3_1bcb1uu": 2,
    }
    assert cursor.listings["new"].newest_utc == datetime(2024, 3, 12, 7, 40, tzinfo=UTC).timestamp()


def test_crash_after_storing_before_cursor_refetches_without_duplicates(
    cc_replay: RedditReplay, make_settings: MakeSettings, sqlite_store: Store
) -> None:
    settings = make_settings(cc_replay)
    collector = one_collector(settings)
    # A poll whose documents were stored, then the process died before the cursor was saved.
    store_result(sqlite_store, collector.collect({}))
    assert sqlite_store.sources.state(collector.name).cursor == {}

    resumed = run_once(collector, sqlite_store, settings.http)

    assert resumed.ok and resumed.ingest.new == 0
    assert resumed.ingest.duplicates == len(CC_POSTS | CC_COMMENTS)
    assert sqlite_store.documents.count() == len(CC_POSTS | CC_COMMENTS)
    assert sqlite_store.sources.state(collector.name).cursor["comments"]


def test_later_poll_fetches_new_posts_and_only_threads_that_grew(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "cryptocurrency_poll.json", DATA / "cryptocurrency_later.json") as rr:
        settings = make_settings(rr)
        collector = one_collector(settings)
        run_once(collector, sqlite_store, settings.http)
        later = run_once(collector, sqlite_store, settings.http)

    assert later.ok
    # New: two posts, the dip thread's two comments, two fresh comments on the ATH thread.
    assert later.ingest.new == 6
    assert comment_paths(rr)[len(CC_THREADS) :] == ["1bcr2aa", "1bcq7xa"]
    for source_id in ("t3_1bcr2aa", "t3_1bcr0bb", "t1_kug1aa1", "t1_kug2cc1", "t1_kug1dd2"):
        assert any(d.source_id == source_id for d in _all_docs(sqlite_store))
    assert sqlite_store.sources.warnings(collector.name) == []
    cursor = RedditCursor.parse(sqlite_store.sources.state(collector.name).cursor)
    assert cursor.comments["t3_1bcq7xa"] == 9
    assert cursor.listings["new"].seen[0] == "t3_1bcr2aa"


def _all_docs(store: Store) -> list[Document]:
    with store.session() as s:
        ids = list(s.exec(select(DocumentRow.id)).all())
    return [d for d in (store.documents.get(i) for i in ids) if d is not None]


def test_more_new_posts_than_the_limit_records_a_listing_gap(
    cc_replay: RedditReplay, make_settings: MakeSettings
) -> None:
    collector = one_collector(make_settings(cc_replay, comments_per_post=0))
    old_cursor = RedditCursor(
        listings={"new": ListingMark(1_700_000_000.0, ("t3_gone1",))}, comments={}
    ).to_json()

    result = collector.collect(old_cursor)

    gaps = [w for w in result.warnings if w.reason == "listing-gap"]
    assert len(gaps) == 1 and "more than 5 posts" in gaps[0].detail
    assert len(result.documents) == len(CC_POSTS)  # everything it could reach is kept


def test_new_listing_stops_paging_after_the_page_holding_a_seen_post(
    make_settings: MakeSettings,
) -> None:
    with replay() as rr:
        new, limit = f"/r/{CC}/new", {"limit": "150"}
        rr.add(
            [
                listing_reply(new, limit, 100, after="t3_p99"),
                listing_reply(new, {**limit, "after": "t3_p99"}, 50, after=None),
                listing_reply(f"/r/{CC}/hot", limit, 3, after=None),
            ]
        )
        collector = one_collector(make_settings(rr, limit=150, comments_per_post=0))
        first = collector.collect({})
        pages_first = [r.query.get("after") for r in rr.api_requests if r.path == new]
        assert first.cursor is not None
        second = collector.collect(first.cursor)

    assert pages_first == [None, "t3_p99"]
    assert len(first.documents) == 150
    # The first page already holds posts seen before: the second page is not requested,
    # and the rest of the first page is still read.
    pages = [r.query.get("after") for r in rr.api_requests if r.path == new]
    assert pages == [None, "t3_p99", None]
    assert len(second.documents) == 100
    assert rr.unmatched == []


def test_low_ratelimit_defers_comment_pages_to_the_next_poll(
    cc_replay: RedditReplay, make_settings: MakeSettings, sqlite_store: Store
) -> None:
    settings = make_settings(cc_replay)
    collector = one_collector(settings)
    quota = collector.client.quota
    # Reddit said: 3 requests left in this window. Two listings leave one comment page.
    quota.remaining, quota.reset_at = 3.0, time.monotonic() + 300

    first = run_once(collector, sqlite_store, settings.http)
    assert first.ok
    assert comment_paths(cc_replay) == CC_THREADS[:1]

    quota.remaining, quota.reset_at = 600.0, time.monotonic() + 300
    second = run_once(collector, sqlite_store, settings.http)
    assert second.ok
    assert comment_paths(cc_replay) == CC_THREADS  # the rest, each once
    assert sqlite_store.documents.count() == len(CC_POSTS | CC_COMMENTS)


def test_too_few_requests_left_fails_the_poll_without_a_request(
    cc_replay: RedditReplay, make_settings: MakeSettings
) -> None:
    collector = one_collector(make_settings(cc_replay))
    quota = collector.client.quota
    quota.remaining, quota.reset_at = 1.0, time.monotonic() + 120

    with pytest.raises(SourceError) as err:
        collector.collect({})

    assert err.value.reason == "rate-limited"
    assert "reset in" in err.value.detail
    assert cc_replay.server.requests == []


def test_subreddits_from_settings_share_one_client_and_name_their_source(
    make_settings: MakeSettings, sqlite_store: Store
) -> None:
    with replay(DATA / "cryptocurrency_poll.json", DATA / "bitcoin_poll.json") as rr:
        settings = make_settings(rr, subreddits=[CC, "r/Bitcoin"])
        collectors = build_source("reddit", settings, CollectOptions())
        outcomes = [run_once(c, sqlite_store, settings.http) for c in collectors]

    assert [c.name for c in collectors] == ["reddit:CryptoCurrency", "reddit:Bitcoin"]
    assert collectors[0].client is collectors[1].client
    assert all(o.ok for o in outcomes)
    btc = outcomes[1].ingest.new
    # r/Bitcoin: 6 posts (one deleted by its author is skipped) and 7 live comments.
    assert btc == 13
    assert rr.unmatched == []


def test_subreddit_option_accepts_r_prefix_and_refuses_bad_names(
    make_settings: MakeSettings, cc_replay: RedditReplay
) -> None:
    settings = make_settings(cc_replay)
    assert one_collector(settings, "/r/Bitcoin/").name == "reddit:Bitcoin"
    with pytest.raises(ValueError, match="not a subreddit name"):
        build_source("reddit", settings, CollectOptions(subreddit="bitcoin; DROP TABLE"))


def test_missing_credentials_skip_reddit_with_a_log_message(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert not settings.reddit.configured
    with caplog.at_level(logging.WARNING, logger="collectors.live.reddit"):
        collectors = build_source("reddit", settings, CollectOptions())

    assert collectors == []
    assert "Reddit skipped: no credentials" in caplog.text
