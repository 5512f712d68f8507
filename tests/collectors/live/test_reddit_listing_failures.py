"""One Reddit listing failing must not cost the other: the real praw client against recordings
served from 127.0.0.1 (see ``reddit_replay.py``).

Before, a 404 on ``hot`` after ``new`` had answered failed the whole poll, and the posts read
from ``new`` were thrown away with it. Now they are kept, the failure is a warning, and the
failed listing's place in the cursor stays where it was, so the next poll reads what this one
missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from collectors.base import SourceError
from collectors.live.reddit import RedditCollector, RedditCursor
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.settings import Settings
from core.store import Store
from core.store.tables import DocumentRow
from tests.collectors.reddit_replay import (
    Interaction,
    RedditReplay,
    json_reply,
    listing_reply,
    replay,
    replay_settings,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "reddit"
CC = "CryptoCurrency"
# What r/CryptoCurrency's recorded new listing holds (limit 5), less the removed post.
NEW_POSTS = {"t3_1bcq7xa", "t3_1bcpz3k", "t3_1bcpqvm", "t3_1bcpl0d"}
HOT_ONLY_POSTS = {"t3_1bc3n0p", "t3_1bc9k2t", "t3_1bcb1uu"}


def one_collector(settings: Settings) -> RedditCollector:
    [collector] = build_source("reddit", settings, CollectOptions(subreddit=CC))
    assert isinstance(collector, RedditCollector)
    return collector


def post_ids(store: Store) -> set[str]:
    with store.session() as s:
        ids = s.exec(select(DocumentRow.source_id)).all()
    return {i for i in ids if i is not None and i.startswith("t3_")}


@pytest.fixture
def hot_fails_once(settings: Settings) -> Iterator[RedditReplay]:
    """``hot`` answers 404 on the first request, the recorded listing after that."""
    del settings  # clears CRYPTOSENSE_* from the environment
    with replay(DATA / "hot_404.json", DATA / "cryptocurrency_poll.json") as rr:
        yield rr


def not_found(path: str, query: dict[str, str]) -> Interaction:
    return json_reply(path, query, {"message": "Not Found", "error": 404}, status=404)


def test_hot_answering_404_keeps_the_new_posts_and_records_a_warning(
    hot_fails_once: RedditReplay, tmp_path: Path
) -> None:
    collector = one_collector(replay_settings(hot_fails_once, tmp_path / "var"))

    result = collector.collect({})

    posts = {d.source_id for d in result.documents if d.source_id and d.source_id[:3] == "t3_"}
    assert posts == NEW_POSTS
    assert any(d.metadata.get("is_comment") for d in result.documents)  # threads still read
    [warning] = result.warnings
    assert warning.reason == "not-found"
    assert warning.source == "reddit:CryptoCurrency"
    assert f"/r/{CC}/hot" in warning.detail and "Reddit answered 404" in warning.detail
    cursor = RedditCursor.parse(result.cursor or {})
    assert set(cursor.listings) == {"new"}  # hot was not read: it has no mark to move past
    assert set(cursor.listings["new"].seen) >= NEW_POSTS


def test_after_a_failed_hot_listing_the_next_poll_reads_it(
    hot_fails_once: RedditReplay, tmp_path: Path, sqlite_store: Store
) -> None:
    settings = replay_settings(hot_fails_once, tmp_path / "var")
    collector = one_collector(settings)

    first = run_once(collector, sqlite_store, settings.http)
    stored_first = post_ids(sqlite_store)
    second = run_once(collector, sqlite_store, settings.http)

    assert first.ok and first.warnings == 1
    assert stored_first == NEW_POSTS
    assert second.ok and second.warnings == 0
    assert post_ids(sqlite_store) == NEW_POSTS | HOT_ONLY_POSTS
    cursor = RedditCursor.parse(sqlite_store.sources.state(collector.name).cursor)
    assert set(cursor.listings) == {"new", "hot"}
    assert [w.reason for w in sqlite_store.sources.warnings(collector.name)] == ["not-found"]


def test_new_failing_on_its_second_page_keeps_the_first_and_does_not_move_its_mark(
    settings: Settings, tmp_path: Path
) -> None:
    new, limit = f"/r/{CC}/new", {"limit": "150"}
    page_two = {**limit, "after": "t3_p99"}
    with replay() as rr:
        rr.add(
            [
                listing_reply(new, limit, 100, after="t3_p99"),
                not_found(new, page_two),  # the first poll's page two fails...
                listing_reply(new, page_two, 50, after=None),  # ...the second poll's answers
                listing_reply(f"/r/{CC}/hot", limit, 3, after=None),
            ]
        )
        collector = one_collector(
            replay_settings(rr, tmp_path / "var", limit=150, comments_per_post=0)
        )
        first = collector.collect({})
        assert first.cursor is not None
        second = collector.collect(first.cursor)

    assert len(first.documents) == 100  # page one (p0..p99; hot's p0..p2 are among them)
    assert [w.reason for w in first.warnings] == ["not-found"]
    assert f"/r/{CC}/new" in first.warnings[0].detail
    # new's mark did not move: a mark past page one would stop the next poll there and
    # lose page two for good.
    assert "new" not in RedditCursor.parse(first.cursor).listings
    assert {d.source_id for d in second.documents} == {f"t3_p{i}" for i in range(150)}
    assert second.warnings == ()
    assert "new" in RedditCursor.parse(second.cursor or {}).listings


def test_every_listing_failing_still_fails_the_poll(settings: Settings, tmp_path: Path) -> None:
    del settings
    with replay() as rr:
        rr.add(
            [not_found(f"/r/{CC}/new", {"limit": "5"}), not_found(f"/r/{CC}/hot", {"limit": "5"})]
        )
        collector = one_collector(replay_settings(rr, tmp_path / "var"))
        with pytest.raises(SourceError) as err:
            collector.collect({})

    assert err.value.reason == "not-found"
    assert f"/r/{CC}/new" in err.value.detail
