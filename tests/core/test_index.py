"""Index points and the index builder's reads (``store.index``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.records import Frequency, IndexPoint, SourceFamily
from core.store import Store
from tests.factories import T0, doc, score

HOUR = timedelta(hours=1)


def point(
    hour: int,
    *,
    asset: str = "BTC",
    mean: float = 0.1,
    model_version: str = "m1",
    family: str = "all",
    freq: Frequency = Frequency.HOUR,
) -> IndexPoint:
    ts = T0 + hour * HOUR
    return IndexPoint(
        asset=asset,
        family=family,
        freq=freq,
        ts=ts,
        asof=ts + HOUR,
        n_docs=3,
        mean=mean,
        index=50 + 50 * mean,
        model_version=model_version,
    )


def test_upsert_replaces_a_stored_point_with_the_same_key(store: Store) -> None:
    store.index.upsert([point(0), point(1)])
    store.index.upsert([point(1, mean=-0.4), point(2)])
    got = store.index.points("BTC", Frequency.HOUR, "m1")
    assert [p.mean for p in got] == [0.1, -0.4, 0.1]
    assert got[1] == point(1, mean=-0.4)
    assert store.index.count() == 3


def test_points_filter_by_time_family_and_keep_the_newest_under_a_limit(store: Store) -> None:
    store.index.upsert([point(h) for h in range(6)] + [point(0, family="reddit")])
    ts = [
        p.ts
        for p in store.index.points("BTC", Frequency.HOUR, "m1", start=T0 + HOUR, end=T0 + 4 * HOUR)
    ]
    assert ts == [T0 + h * HOUR for h in (1, 2, 3)]
    newest = store.index.points("BTC", Frequency.HOUR, "m1", limit=2)
    assert [p.ts for p in newest] == [T0 + 4 * HOUR, T0 + 5 * HOUR]
    assert len(store.index.points("BTC", Frequency.HOUR, "m1", family="reddit")) == 1
    assert store.index.points("BTC", Frequency.DAY, "m1") == []
    assert store.index.points("ETH", Frequency.HOUR, "m1") == []


def test_replace_swaps_one_model_version_and_leaves_the_others(store: Store) -> None:
    store.index.upsert([point(h) for h in range(3)] + [point(0, model_version="m2")])
    assert store.index.replace("m1", [point(7, mean=0.5)]) == 1
    assert [p.ts for p in store.index.points("BTC", Frequency.HOUR, "m1")] == [T0 + 7 * HOUR]
    assert len(store.index.points("BTC", Frequency.HOUR, "m2")) == 1
    assert store.index.replace("m1", []) == 0
    assert store.index.points("BTC", Frequency.HOUR, "m1") == []


def test_a_failed_replace_keeps_the_old_index_whole(store: Store) -> None:
    old = [point(h) for h in range(3)]
    store.index.upsert(old)
    naive = point(9).model_copy(update={"ts": datetime(2024, 3, 2)})  # noqa: DTZ001
    with pytest.raises(Exception):  # noqa: B017,PT011 - the bind error, wrapped by the driver
        store.index.replace("m1", [point(5), naive])
    assert store.index.points("BTC", Frequency.HOUR, "m1") == old


def test_window_returns_every_asset_and_family_in_order(store: Store) -> None:
    store.index.upsert(
        [
            point(h, asset=a, family=f)
            for h in range(4)
            for a in ("ETH", "BTC")
            for f in ("all", "news")
        ]
        + [point(1, model_version="m2"), point(1, freq=Frequency.DAY)]
    )
    got = store.index.window("m1", Frequency.HOUR, start=T0 + HOUR, end=T0 + 3 * HOUR)
    assert [(p.asset, p.family, p.ts) for p in got] == [
        (a, f, T0 + h * HOUR) for a in ("BTC", "ETH") for f in ("all", "news") for h in (1, 2)
    ]


def test_last_ts_is_per_model_version_and_frequency(store: Store) -> None:
    assert store.index.last_ts("m1", Frequency.HOUR) is None
    store.index.upsert([point(2), point(5, asset="ETH"), point(9, model_version="m2")])
    assert store.index.last_ts("m1", Frequency.HOUR) == T0 + 5 * HOUR
    assert store.index.last_ts("m1", Frequency.DAY) is None


def test_scored_documents_are_one_row_per_asset_mention_within_the_window(store: Store) -> None:
    news = doc(
        "https://x.example/1",
        title="Bitcoin and ether rally together on ETF flows",
        assets=("BTC", "ETH"),
    )
    post = doc(
        "https://reddit.example/r/x/2",
        title="Is bitcoin going to hold this level through the weekend",
        family=SourceFamily.REDDIT,
        metadata={"score": 10, "num_comments": 4},
        minutes=90,
    )
    late = doc(
        "https://x.example/3", title="Bitcoin story ingested after the as-of time", minutes=180
    )
    store.documents.add([news, post, late])
    store.scores.add([score(news.id), score(post.id, negative=0.6, positive=0.2), score(late.id)])

    rows = store.index.scored_documents("m1", asof=T0 + 2 * HOUR)
    assert sorted((r.document_id, r.asset) for r in rows) == sorted(
        [(news.id, "BTC"), (news.id, "ETH"), (post.id, "BTC")]
    )
    reddit = next(r for r in rows if r.document_id == post.id)
    assert (reddit.family, reddit.label, reddit.engagement) == ("reddit", "negative", 1 + 10 + 8)
    assert reddit.score == pytest.approx(-0.4)
    assert all(r.engagement == 1.0 for r in rows if r.document_id == news.id)
    assert [r.document_id for r in store.index.scored_documents("m1", asset="ETH")] == [news.id]
    assert [r.document_id for r in store.index.scored_documents("m1", start=T0 + 2 * HOUR)] == [
        late.id
    ]
    assert store.index.scored_documents("m2") == []


def test_earliest_ingested_among_late_scores(store: Store) -> None:
    early = doc("https://x.example/early", title="Early bitcoin story scored late by a backfill")
    later = doc(
        "https://x.example/later",
        title="Later bitcoin story scored on time by the loop",
        minutes=60,
    )
    store.documents.add([early, later])
    store.scores.add([score(later.id, minutes=61), score(early.id, minutes=120)])
    since = T0 + timedelta(minutes=100)
    assert store.index.earliest_ingested_scored_since("m1", since) == early.ingested_at
    assert store.index.earliest_ingested_scored_since("m1", T0 + 3 * HOUR) is None


def test_known_points_are_every_family_of_one_frequency_known_by_asof(store: Store) -> None:
    store.index.upsert(
        [point(h) for h in range(4)]
        + [point(h, family="news") for h in range(4)]
        + [point(0, freq=Frequency.DAY), point(1, model_version="m2"), point(1, asset="ETH")]
    )
    known = store.index.known_points("BTC", "m1", freq=Frequency.HOUR, asof=T0 + 2 * HOUR)
    assert [(p.family, p.ts) for p in known] == [
        ("all", T0),
        ("all", T0 + HOUR),
        ("news", T0),
        ("news", T0 + HOUR),
    ]
    everything = store.index.known_points("BTC", "m1")
    assert len(everything) == 9 and everything[0].freq is Frequency.DAY
