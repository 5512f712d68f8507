from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.records import IngestWarning, Label, SentimentScore
from core.store import Store
from tests.factories import T0, doc


def test_reingesting_the_same_items_changes_nothing(store: Store) -> None:
    items = [
        doc(),
        doc("https://news.example.com/b", title="Ether slips as gas fees climb to highs"),
    ]
    first = store.documents.add(items)
    again = store.documents.add(items)
    assert (first.new, first.duplicates) == (2, 0)
    assert (again.new, again.duplicates) == (0, 2)
    assert store.documents.count() == 2
    stored = store.documents.get(items[0].id)
    assert stored is not None
    assert stored.ingested_at == items[0].ingested_at
    assert stored.assets == ("BTC",)


def test_same_story_through_two_feeds_is_stored_once_with_both_sources(store: Store) -> None:
    a = doc("https://news.example.com/a/bitcoin-rallies?utm_source=feedA", source="rss:feedA")
    b = doc(
        "http://www.news.example.com/a/bitcoin-rallies/?utm_campaign=x&fbclid=1",
        source="rss:feedB",
        title="  Bitcoin rallies past   resistance as ETF inflows rise ",
        minutes=5,
    )
    store.documents.add([a])
    result = store.documents.add([b])
    assert store.documents.count() == 1
    assert result.duplicates == 1
    assert store.documents.sources(a.id) == ["rss:feedA", "rss:feedB"]


def test_syndicated_copy_under_another_url_is_merged_by_content(store: Store) -> None:
    a = doc("https://site-a.example/story-1", source="rss:a")
    b = doc("https://mirror.example/copy/99", source="rss:b", text=a.text + "  ")
    store.documents.add([a, b])
    assert store.documents.count() == 1
    assert store.documents.sources(a.id) == ["rss:a", "rss:b"]


def test_short_identical_titles_are_not_merged(store: Store) -> None:
    a = doc("https://x.example/1", title="Update", text="")
    b = doc("https://x.example/2", title="Update", text="")
    store.documents.add([a, b])
    assert store.documents.count() == 2


def test_failed_batch_leaves_nothing_half_written(store: Store) -> None:
    good = doc("https://x.example/good")
    bad = doc("https://x.example/bad").model_copy(update={"source": "s" * 5000})
    with pytest.raises(Exception):  # noqa: B017,PT011 - the driver's own error type differs
        store.documents.add([good, bad]) if store.dialect == "postgresql" else _sqlite_fail(
            store, good
        )
    assert store.documents.count() == 0


def _sqlite_fail(store: Store, good: object) -> None:
    # SQLite does not enforce VARCHAR lengths; fail the transaction with a naive datetime.
    bad = doc("https://x.example/bad").model_copy(update={"ingested_at": datetime(2024, 1, 1)})  # noqa: DTZ001
    store.documents.add([good, bad])  # type: ignore[list-item]


def test_scores_are_idempotent_and_pending_list_shrinks(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    assert [x.id for x in store.scores.pending("m1")] == [d.id]
    sc = SentimentScore(
        document_id=d.id,
        model_version="m1",
        label=Label.POSITIVE,
        p_negative=0.1,
        p_neutral=0.2,
        p_positive=0.7,
        scored_at=T0,
    )
    store.scores.add([sc])
    store.scores.add([sc])
    assert store.scores.pending("m1") == []
    assert store.scores.pending("m2") != []
    got = store.scores.get(d.id, "m1")
    assert got is not None and got.score == pytest.approx(0.6)
    rows = store.index.scored_documents("m1", asset="BTC")
    assert len(rows) == 1 and rows[0].ingested_at == T0


def test_timestamps_round_trip_as_utc(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    got = store.documents.get(d.id)
    assert got is not None
    assert got.published_at.tzinfo is not None
    assert got.published_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_warnings_and_source_health_are_recorded(store: Store) -> None:
    store.sources.add_warnings(
        [IngestWarning(source="rss:x", reason="malformed-xml", detail="line 3")]
    )
    assert store.sources.warnings("rss:x")[0].reason == "malformed-xml"
    st = store.sources.record_result("rss:x", ok=False, error="timeout")
    assert st.consecutive_failures == 1
    st = store.sources.record_result("rss:x", ok=True, items=3, cursor={"etag": "abc"})
    assert st.consecutive_failures == 0 and st.items_today == 3
    assert store.sources.state("rss:x").cursor == {"etag": "abc"}
