"""Documents, their sources and asset mentions (``store.documents``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.records import SourceFamily
from core.store import Store
from tests.factories import T0, doc, score


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
    result = store.documents.add([a, b])
    assert (result.new, result.merged) == (1, 1)
    assert store.documents.count() == 1
    assert store.documents.sources(a.id) == ["rss:a", "rss:b"]
    assert store.documents.get(b.id) is None


def test_copy_arriving_in_a_later_batch_is_merged_into_the_stored_story(store: Store) -> None:
    a = doc("https://site-a.example/story-1", source="rss:a")
    store.documents.add([a])
    later = doc("https://mirror.example/copy/99", source="rss:b", minutes=30)
    again = store.documents.add([later])
    assert (again.new, again.merged) == (0, 1)
    assert store.documents.sources(a.id) == ["rss:a", "rss:b"]


def test_short_identical_titles_are_not_merged(store: Store) -> None:
    a = doc("https://x.example/1", title="Update", text="")
    b = doc("https://x.example/2", title="Update", text="")
    store.documents.add([a, b])
    assert store.documents.count() == 2


def test_the_same_id_twice_in_one_batch_is_stored_once(store: Store) -> None:
    a = doc()
    result = store.documents.add([a, a.model_copy(update={"source": "rss:other"})])
    assert (result.new, result.duplicates, result.merged) == (1, 0, 0)
    assert store.documents.sources(a.id) == ["rss:example"]


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert store.documents.add([]) == store.documents.add(iter(()))
    assert store.documents.count() == 0


def test_failed_batch_leaves_nothing_half_written(store: Store) -> None:
    good = doc("https://x.example/good")
    if store.dialect == "postgresql":
        bad = doc("https://x.example/bad").model_copy(update={"source": "s" * 5000})
    else:  # SQLite does not enforce VARCHAR lengths; a naive datetime fails the batch instead
        bad = doc("https://x.example/bad").model_copy(
            update={"ingested_at": datetime(2024, 1, 1)}  # noqa: DTZ001
        )
    with pytest.raises(Exception):  # noqa: B017,PT011 - the driver's own error type differs
        store.documents.add([good, bad])
    assert store.documents.count() == 0
    assert store.documents.sources(good.id) == []


def test_timestamps_round_trip_as_utc(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    got = store.documents.get(d.id)
    assert got is not None
    assert got.published_at.tzinfo is not None
    assert got.published_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_a_document_reads_back_equal_with_metadata_warnings_and_assets(store: Store) -> None:
    d = doc(
        "https://reddit.example/r/x/1",
        family=SourceFamily.REDDIT,
        assets=("ETH", "BTC"),
        author="satoshi",
        lang="en",
        metadata={"score": 12, "num_comments": 3, "flair": None},
        warnings=("truncated",),
    )
    store.documents.add([d])
    assert store.documents.get(d.id) == d.model_copy(update={"assets": ("BTC", "ETH")})
    assert store.documents.get("no-such-id") is None


def test_assets_and_counts_per_asset(store: Store) -> None:
    store.documents.add(
        [
            doc(
                "https://x.example/1",
                title="Bitcoin and ether both rally on ETF news",
                assets=("BTC", "ETH"),
            ),
            doc(
                "https://x.example/2",
                title="Solana outage halts block production for hours",
                assets=("SOL",),
            ),
            doc(
                "https://x.example/3",
                title="Bitcoin miners sell as hashprice falls again",
                assets=("BTC",),
            ),
        ]
    )
    assert store.documents.assets() == ["BTC", "ETH", "SOL"]
    assert store.documents.asset_counts() == {"BTC": 2, "ETH": 1, "SOL": 1}
    assert store.documents.asset_counts("BTC") == {"BTC": 2}
    assert store.documents.asset_counts("NOPE") == {}


def test_keyset_pages_walk_every_document_once_in_order_across_equal_times(
    store: Store,
) -> None:
    # Five documents share one ingestion time: a page boundary inside them must not skip or
    # repeat any (the key is (ingested_at, id), not the time alone).
    items = [
        doc(
            f"https://x.example/{i}",
            title=f"Story number {i} about bitcoin markets today",
            minutes=i // 5,
        )
        for i in range(12)
    ]
    store.documents.add(items)
    seen: list[str] = []
    after: tuple[datetime, str] | None = None
    while page := store.documents.page(after, limit=4):
        seen.extend(d.id for d in page)
        after = (page[-1].ingested_at, page[-1].id)
    expected = sorted(items, key=lambda d: (d.ingested_at, d.id))
    assert seen == [d.id for d in expected]
    assert all(d.assets == ("BTC",) for d in store.documents.page(None, limit=50))


def test_a_document_added_while_paging_is_found_by_the_next_page(store: Store) -> None:
    store.documents.add(
        [doc(f"https://x.example/{i}", title=f"Early story {i} on bitcoin flows") for i in range(3)]
    )
    first = store.documents.page(None, limit=3)
    newer = doc("https://x.example/new", title="Later story on bitcoin flows arrives", minutes=10)
    store.documents.add([newer])
    rest = store.documents.page((first[-1].ingested_at, first[-1].id), limit=3)
    assert [d.id for d in rest] == [newer.id]


def test_cited_lists_newest_scored_documents_with_their_sources(store: Store) -> None:
    old = doc("https://x.example/old", title="Old bitcoin story from the morning", source="rss:a")
    new = doc(
        "https://x.example/new",
        title="New ether story from the evening",
        assets=("ETH",),
        minutes=60,
    )
    unscored = doc(
        "https://x.example/unscored", title="Never scored story about bitcoin", minutes=90
    )
    copy = doc("https://mirror.example/old", title=old.title, source="rss:b", minutes=5)
    store.documents.add([old, new, unscored, copy])
    store.scores.add([score(old.id), score(new.id, negative=0.8, positive=0.1)])
    store.scores.add([score(unscored.id, "other-model")])

    cited = store.documents.cited("m1")
    assert [c.document.id for c in cited] == [new.id, old.id]
    assert cited[1].sources == ("rss:a", "rss:b")
    assert cited[0].score.score == pytest.approx(-0.7)
    assert [c.document.id for c in store.documents.cited("m1", asset="BTC")] == [old.id]
    assert [
        c.document.id for c in store.documents.cited("m1", since=T0 + timedelta(minutes=30))
    ] == [new.id]
    assert len(store.documents.cited("m1", limit=1)) == 1
    assert store.documents.cited("no-such-model") == []
