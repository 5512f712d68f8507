"""Sentiment index: bucket statistics, EWMA, z-score, the as-of property, incremental updates."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.records import Document, Frequency, IndexPoint, Label, SentimentScore, SourceFamily
from core.settings import ConfigError, IndexSettings, load_settings
from core.store import ScoredDoc, Store, build_store
from cryptosense.cli import main
from nlp.index import (
    FAMILIES,
    FREQUENCIES,
    bucket_start,
    compute_index,
    rebuild_index,
    series,
    update_index,
)

H0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
MV = "test-model-v1"
Item = tuple[float, float, str, str]  # minutes after H0, score, asset, family


def row(
    minutes: float,
    score: float,
    *,
    asset: str = "BTC",
    family: str = "news",
    engagement: float = 1.0,
    doc_id: str | None = None,
) -> ScoredDoc:
    at = H0 + timedelta(minutes=minutes)
    return ScoredDoc(
        document_id=doc_id or f"d-{asset}-{minutes}-{score}",
        asset=asset,
        family=family,
        ingested_at=at,
        score=score,
        label="positive" if score > 0 else "negative",
        engagement=engagement,
    )


def hourly(points: list[IndexPoint]) -> dict[datetime, IndexPoint]:
    return {p.ts: p for p in points}


SMALL = IndexSettings(ewma_halflife=2.0, zscore_window=4, zscore_min_buckets=3)


# --- bucket statistics ------------------------------------------------------------------------


def test_bucket_statistics_on_hand_made_rows() -> None:
    rows = [
        row(5, 0.6, engagement=1),
        row(10, 0.1, engagement=3),
        row(20, -0.5, engagement=1),
        row(59, 0.2, engagement=5),  # exactly at the threshold: neither bullish nor bearish
    ]
    (p,) = compute_index(rows, Frequency.HOUR, "all", IndexSettings(), MV)
    scores = [0.6, 0.1, -0.5, 0.2]
    assert p.n_docs == 4
    assert p.mean == pytest.approx(0.1)
    assert p.dispersion == pytest.approx(statistics.pstdev(scores))
    assert p.share_bullish == pytest.approx(0.25)
    assert p.share_bearish == pytest.approx(0.25)
    assert p.weighted_mean == pytest.approx((0.6 + 0.3 - 0.5 + 1.0) / 10)
    assert p.index == pytest.approx(50 + 50 * 0.1)  # first bucket: the EWMA is its own mean
    assert p.zscore is None
    assert (p.ts, p.asof, p.model_version) == (H0, H0 + timedelta(hours=1), MV)


def test_single_document_bucket_has_zero_dispersion() -> None:
    (p,) = compute_index([row(1, -0.8)], Frequency.HOUR, "all", IndexSettings(), MV)
    assert (p.n_docs, p.mean, p.dispersion, p.share_bearish) == (1, -0.8, 0.0, 1.0)


def test_hour_buckets_include_their_start_and_exclude_their_end() -> None:
    rows = [row(0, 0.5), row(59.99, 0.3), row(60, -0.4), row(23 * 60 + 59, 0.1), row(24 * 60, 0.9)]
    hours = compute_index(rows, Frequency.HOUR, "all", IndexSettings(), MV)
    assert [(p.ts - H0, p.n_docs) for p in hours] == [
        (timedelta(hours=0), 2),
        (timedelta(hours=1), 1),
        (timedelta(hours=23), 1),
        (timedelta(hours=24), 1),
    ]
    assert all(p.asof == p.ts + timedelta(hours=1) for p in hours)


def test_day_buckets_run_midnight_to_midnight_utc() -> None:
    rows = [row(0, 0.5), row(60, -0.4), row(23 * 60 + 59, 0.1), row(24 * 60, 0.9)]
    days = compute_index(rows, Frequency.DAY, "all", IndexSettings(), MV)
    assert [(p.ts, p.asof, p.n_docs) for p in days] == [
        (H0, H0 + timedelta(days=1), 3),
        (H0 + timedelta(days=1), H0 + timedelta(days=2), 1),
    ]
    assert days[0].mean == pytest.approx(0.2 / 3)


def test_bucket_start_floors_to_utc_hour_and_day() -> None:
    t = datetime(2024, 3, 1, 13, 45, 12, tzinfo=UTC)
    assert bucket_start(t, Frequency.HOUR) == datetime(2024, 3, 1, 13, tzinfo=UTC)
    assert bucket_start(t, Frequency.DAY) == datetime(2024, 3, 1, tzinfo=UTC)


def test_families_split_news_and_reddit_and_all_holds_both() -> None:
    rows = [row(1, 0.5, family="news"), row(2, -0.3, family="reddit"), row(3, 0.1)]
    by_family = {f: compute_index(rows, Frequency.HOUR, f, IndexSettings(), MV) for f in FAMILIES}
    assert [p.n_docs for p in by_family["all"]] == [3]
    assert [p.n_docs for p in by_family["news"]] == [2]
    assert [(p.n_docs, p.mean) for p in by_family["reddit"]] == [(1, -0.3)]
    assert {p.family for f in FAMILIES for p in by_family[f]} == set(FAMILIES)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source family"):
        compute_index([row(1, 0.1)], Frequency.HOUR, "twitter", IndexSettings(), MV)


def test_assets_are_indexed_separately() -> None:
    rows = [row(1, 0.5, asset="BTC"), row(2, -0.5, asset="ETH"), row(3, 0.3, asset="BTC")]
    points = compute_index(rows, Frequency.HOUR, "all", IndexSettings(), MV)
    assert [(p.asset, p.n_docs) for p in points] == [("BTC", 2), ("ETH", 1)]


def test_non_finite_scores_are_left_out() -> None:
    rows = [row(1, 0.5), row(2, math.nan), row(3, -0.1, engagement=math.inf)]
    (p,) = compute_index(rows, Frequency.HOUR, "all", IndexSettings(), MV)
    assert (p.n_docs, p.mean) == (1, 0.5)


def test_result_does_not_depend_on_row_order() -> None:
    rng = random.Random(7)
    rows = [
        row(rng.uniform(0, 3000), rng.uniform(-1, 1), asset=rng.choice("AB")) for _ in range(300)
    ]
    shuffled = rows[:]
    rng.shuffle(shuffled)
    for freq in FREQUENCIES:
        assert compute_index(rows, freq, "all", SMALL, MV) == compute_index(
            shuffled, freq, "all", SMALL, MV
        )


# --- EWMA ---------------------------------------------------------------------------------------


def test_ewma_matches_pandas_time_aware_ewm_across_empty_buckets() -> None:
    # Buckets 0, 1, 2, then nothing until 6: the gap ages the older buckets by 4 hours.
    rows = [row(10, 0.8), row(70, 0.4), row(75, 0.0), row(130, -0.2), row(6 * 60 + 5, -0.6)]
    points = compute_index(rows, Frequency.HOUR, "all", IndexSettings(ewma_halflife=3.0), MV)
    means = pd.Series([p.mean for p in points], index=[p.ts for p in points])
    expected = means.ewm(halflife=timedelta(hours=3), times=means.index).mean()
    assert [p.ts - H0 for p in points] == [timedelta(hours=h) for h in (0, 1, 2, 6)]
    assert [p.index for p in points] == pytest.approx([50 + 50 * e for e in expected])


def test_ewma_after_a_gap_longer_than_its_horizon_restarts_from_the_new_bucket() -> None:
    settings = IndexSettings(ewma_halflife=2.0)  # horizon 20 buckets
    rows = [row(0, 0.9), row(60 * 25, -0.4)]
    _, later = compute_index(rows, Frequency.HOUR, "all", settings, MV)
    assert later.index == pytest.approx(50 + 50 * -0.4)


def test_ewma_index_moves_toward_the_new_mean_by_the_halflife_weight() -> None:
    settings = IndexSettings(ewma_halflife=1.0)
    first, second = compute_index([row(0, 1.0), row(60, -1.0)], Frequency.HOUR, "all", settings, MV)
    assert first.index == 100.0
    # weights: new bucket 1, the bucket one half-life old 0.5 -> (-1 + 0.5) / 1.5
    assert second.index == pytest.approx(50 + 50 * (-0.5 / 1.5))


# --- z-score ------------------------------------------------------------------------------------


def test_zscore_is_none_until_the_window_holds_enough_buckets() -> None:
    means = [0.1, 0.3, -0.2, 0.6, 0.0]
    rows = [row(60 * h + 1, m) for h, m in enumerate(means)]
    points = compute_index(rows, Frequency.HOUR, "all", SMALL, MV)
    assert [p.zscore for p in points[:3]] == [None, None, None]
    baseline = means[0:3]
    expected = (means[3] - statistics.mean(baseline)) / statistics.stdev(baseline)
    assert points[3].zscore == pytest.approx(expected)
    baseline = means[0:4]  # window of 4 previous buckets: hours 0..3 for hour 4
    expected = (means[4] - statistics.mean(baseline)) / statistics.stdev(baseline)
    assert points[4].zscore == pytest.approx(expected)


def test_zscore_baseline_forgets_buckets_older_than_the_window() -> None:
    means = [0.1, 0.3, -0.2, 0.6]
    rows = [row(60 * h + 1, m) for h, m in enumerate(means)] + [row(60 * 9, 0.5)]
    points = compute_index(rows, Frequency.HOUR, "all", SMALL, MV)
    assert points[-1].ts == H0 + timedelta(hours=9)
    assert points[-1].zscore is None  # hours 5..8 are empty: no baseline left


def test_zscore_is_none_against_a_flat_baseline() -> None:
    rows = [row(60 * h + 1, 0.25) for h in range(4)] + [row(60 * 4 + 1, 0.9)]
    points = compute_index(rows, Frequency.HOUR, "all", SMALL, MV)
    assert points[-1].zscore is None


def test_zscore_settings_that_cannot_be_met_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zscore_min_buckets"):
        load_settings(data_dir=tmp_path, index={"zscore_window": 4, "zscore_min_buckets": 5})


def test_prior_points_warm_up_exactly_like_the_raw_rows_they_came_from() -> None:
    rng = random.Random(11)
    rows = [
        row(rng.uniform(0, 40 * 60), rng.uniform(-1, 1), asset=rng.choice("AB")) for _ in range(200)
    ]
    cut = H0 + timedelta(hours=25)
    full = compute_index(rows, Frequency.HOUR, "all", SMALL, MV)
    before = [p for p in full if p.ts < cut]
    later = [r for r in rows if r.ingested_at >= cut]
    resumed = compute_index(later, Frequency.HOUR, "all", SMALL, MV, prior=before)
    assert resumed == [p for p in full if p.ts >= cut]
    assert any(p.zscore is not None for p in resumed)


# --- the as-of property --------------------------------------------------------------------------

_rows = st.lists(
    st.builds(
        row,
        minutes=st.floats(min_value=0, max_value=3 * 24 * 60, allow_nan=False),
        score=st.floats(min_value=-1, max_value=1, allow_nan=False),
        asset=st.sampled_from(["BTC", "ETH"]),
        family=st.sampled_from(["news", "reddit"]),
        engagement=st.floats(min_value=1, max_value=500, allow_nan=False),
    ),
    min_size=1,
    max_size=120,
    unique_by=lambda r: (r.document_id, r.asset),
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows,
    cutoff_minutes=st.floats(min_value=0, max_value=3 * 24 * 60),
    family=st.sampled_from(FAMILIES),
)
def test_documents_ingested_later_never_change_an_earlier_point(
    rows: list[ScoredDoc], cutoff_minutes: float, family: str
) -> None:
    cutoff = H0 + timedelta(minutes=cutoff_minutes)
    known = [r for r in rows if r.ingested_at < cutoff]
    for freq in FREQUENCIES:
        before = compute_index(known, freq, family, SMALL, MV)
        after = compute_index(rows, freq, family, SMALL, MV)
        final_before = [p for p in before if p.asof <= cutoff]
        final_after = [p for p in after if p.asof <= cutoff]
        assert final_before == final_after


# --- stored index: incremental update, rebuild, serving -------------------------------------------


def _store_docs(store: Store, items: list[Item], scored_at: datetime) -> None:
    """One stored, scored document per (minutes after H0, score, asset, family)."""
    docs = []
    for i, (minutes, _score, asset, family) in enumerate(items):
        at = H0 + timedelta(minutes=minutes)
        reddit = family == "reddit"
        docs.append(
            Document.build(
                source="reddit:Bitcoin" if reddit else "rss:example",
                family=SourceFamily(family),
                url=f"https://news.example.com/{asset.lower()}/{minutes}-{i}-{_score}",
                title=f"{asset} story {minutes} {i} {_score}",
                text=f"Market report number {i} at minute {minutes} on {asset}.",
                published_at=at,
                ingested_at=at,
                assets=(asset,),
                metadata={"score": i % 7, "num_comments": i % 3} if reddit else {},
            )
        )
    store.documents.add(docs)
    store.scores.add(
        [
            SentimentScore(
                document_id=d.id,
                model_version=MV,
                label=Label.POSITIVE if s > 0 else Label.NEGATIVE,
                p_negative=(1 - s) / 2,
                p_neutral=0.0,
                p_positive=(1 + s) / 2,
                scored_at=scored_at,
            )
            for d, (_m, s, _a, _f) in zip(docs, items, strict=True)
        ]
    )


def _random_items(rng: random.Random, lo_min: float, hi_min: float, n: int) -> list[Item]:
    return [
        (
            float(rng.randint(int(lo_min), int(hi_min) - 1)),
            round(rng.uniform(-1, 1), 3),
            rng.choice(["BTC", "ETH"]),
            rng.choice(["news", "reddit"]),
        )
        for _ in range(n)
    ]


def _snapshot(store: Store) -> dict[tuple[str, str, str], list[IndexPoint]]:
    return {
        (asset, freq.value, fam): store.index.points(asset, freq, MV, family=fam)
        for asset in ("BTC", "ETH")
        for freq in FREQUENCIES
        for fam in FAMILIES
    }


def test_incremental_updates_equal_a_full_rebuild(store: Store) -> None:
    rng = random.Random(3)
    settings = IndexSettings(ewma_halflife=2.0, zscore_window=6, zscore_min_buckets=3)
    # Live-like: every 2 hours new documents arrive and are scored, then the index updates.
    for step in range(1, 22):
        now = H0 + timedelta(hours=3 * step, minutes=7)
        _store_docs(store, _random_items(rng, (3 * step - 3) * 60 + 7, 3 * step * 60 + 7, 9), now)
        update_index(store, MV, settings, now=now)
    incremental = _snapshot(store)
    assert sum(len(v) for v in incremental.values()) > 100
    rebuild_index(store, MV, settings, now=now)
    assert _snapshot(store) == incremental


def test_update_recomputes_a_bucket_whose_scores_arrive_late(sqlite_store: Store) -> None:
    store = sqlite_store
    settings = IndexSettings()
    _store_docs(
        store, [(30, 0.5, "BTC", "news"), (90, 0.1, "BTC", "news")], H0 + timedelta(hours=2)
    )
    update_index(store, MV, settings, now=H0 + timedelta(hours=2, minutes=1))
    before = hourly(store.index.points("BTC", Frequency.HOUR, MV))
    assert before[H0].n_docs == 1
    # A document ingested at 00:40 is only scored at 03:10 (backfill, lagging scorer).
    _store_docs(store, [(40, -0.9, "BTC", "news")], H0 + timedelta(hours=3, minutes=10))
    update_index(store, MV, settings, now=H0 + timedelta(hours=3, minutes=15))
    after = hourly(store.index.points("BTC", Frequency.HOUR, MV))
    assert after[H0].n_docs == 2
    assert after[H0].mean == pytest.approx((0.5 - 0.9) / 2)
    assert after[H0 + timedelta(hours=1)].index != before[H0 + timedelta(hours=1)].index


def test_update_never_stores_the_open_bucket(sqlite_store: Store) -> None:
    _store_docs(sqlite_store, [(30, 0.5, "BTC", "news"), (70, 0.2, "BTC", "news")], H0)
    update_index(sqlite_store, MV, IndexSettings(), now=H0 + timedelta(minutes=80))
    stored = sqlite_store.index.points("BTC", Frequency.HOUR, MV)
    assert [p.ts for p in stored] == [H0]
    assert sqlite_store.index.points("BTC", Frequency.DAY, MV) == []


def test_series_adds_unstored_buckets_and_the_open_one_as_partial(sqlite_store: Store) -> None:
    store = sqlite_store
    settings = IndexSettings()
    _store_docs(
        store, [(30, 0.5, "BTC", "news"), (90, -0.2, "BTC", "news"), (130, 0.4, "BTC", "news")], H0
    )
    update_index(store, MV, settings, now=H0 + timedelta(hours=1, minutes=5))  # stores hour 0
    now = H0 + timedelta(hours=2, minutes=20)
    served = series(store, MV, settings, asset="BTC", freq=Frequency.HOUR, now=now)
    assert [(s.point.ts - H0, s.partial) for s in served] == [
        (timedelta(hours=0), False),
        (timedelta(hours=1), False),
        (timedelta(hours=2), True),
    ]
    assert served[-1].point.asof == now
    # What was computed on the fly for the closed hour is exactly what the update stores.
    update_index(store, MV, settings, now=now)
    assert store.index.points("BTC", Frequency.HOUR, MV)[1] == served[1].point


def test_series_computed_on_the_fly_equals_the_rebuilt_index(sqlite_store: Store) -> None:
    store = sqlite_store
    settings = IndexSettings(ewma_halflife=2.0, zscore_window=6, zscore_min_buckets=3)
    _store_docs(store, _random_items(random.Random(5), 0, 30 * 60, 120), H0)
    update_index(store, MV, settings, now=H0 + timedelta(hours=12, minutes=1))
    now = H0 + timedelta(hours=30, minutes=1)
    for freq in FREQUENCIES:
        for family in FAMILIES:
            served = series(store, MV, settings, asset="BTC", freq=freq, family=family, now=now)
            assert any(not s.partial for s in served)
            rebuild_index(store, MV, settings, now=now)
            final = store.index.points("BTC", freq, MV, family=family)
            assert [s.point for s in served if not s.partial] == final
            store.index.replace(MV, [])
            update_index(store, MV, settings, now=H0 + timedelta(hours=12, minutes=1))


def test_series_honours_start_end_and_limit(sqlite_store: Store) -> None:
    store = sqlite_store
    settings = IndexSettings()
    _store_docs(store, [(60 * h + 5, 0.1 * (h % 5), "BTC", "news") for h in range(10)], H0)
    now = H0 + timedelta(hours=9, minutes=30)
    update_index(store, MV, settings, now=now)
    window = series(
        store,
        MV,
        settings,
        asset="BTC",
        freq=Frequency.HOUR,
        start=H0 + timedelta(hours=2),
        end=H0 + timedelta(hours=5),
        now=now,
    )
    assert [s.point.ts - H0 for s in window] == [timedelta(hours=h) for h in (2, 3, 4)]
    last3 = series(store, MV, settings, asset="BTC", freq=Frequency.HOUR, limit=3, now=now)
    assert [(s.point.ts - H0, s.partial) for s in last3] == [
        (timedelta(hours=7), False),
        (timedelta(hours=8), False),
        (timedelta(hours=9), True),
    ]


def test_series_of_a_historical_index_long_after_its_last_document(sqlite_store: Store) -> None:
    store = sqlite_store
    _store_docs(store, [(60 * h + 5, 0.1 * (h % 4), "BTC", "news") for h in range(8)], H0)
    update_index(store, MV, IndexSettings(), now=H0 + timedelta(hours=6, minutes=1))
    # A backfilled history read years later: stored hours 0-5, hours 6-7 not stored yet.
    later = H0 + timedelta(days=900)
    served = series(
        store, MV, IndexSettings(), asset="BTC", freq=Frequency.HOUR, limit=4, now=later
    )
    assert [(s.point.ts - H0, s.partial) for s in served] == [
        (timedelta(hours=h), False) for h in (4, 5, 6, 7)
    ]


def test_series_without_any_stored_point_computes_on_the_fly(sqlite_store: Store) -> None:
    _store_docs(sqlite_store, [(10, 0.3, "ETH", "reddit"), (70, -0.1, "ETH", "reddit")], H0)
    served = series(
        sqlite_store,
        MV,
        IndexSettings(),
        asset="ETH",
        freq=Frequency.DAY,
        family="reddit",
        now=H0 + timedelta(hours=3),
    )
    assert [(s.point.n_docs, s.partial) for s in served] == [(2, True)]


# --- the command --------------------------------------------------------------------------------


def _cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CRYPTOSENSE_CONFIG", raising=False)
    monkeypatch.delenv("CRYPTOSENSE_DB__URL", raising=False)
    settings = load_settings()
    return build_store(settings.db, settings.paths)


def test_index_rebuild_command_uses_the_latest_model_version_and_prints_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _cli_store(tmp_path, monkeypatch)
    _store_docs(store, [(30, 0.5, "BTC", "news"), (90, -0.2, "ETH", "reddit")], H0)
    assert main(["index", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert f"model version {MV} (latest with scores)" in out
    assert "BTC, ETH" in out
    assert len(store.index.points("BTC", Frequency.HOUR, MV)) == 1
    store.close()


def test_index_rebuild_command_with_unknown_model_version_names_the_known_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _cli_store(tmp_path, monkeypatch)
    _store_docs(store, [(30, 0.5, "BTC", "news")], H0)
    assert main(["index", "rebuild", "--model-version", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no scores from model version 'nope'" in err
    assert MV in err
    store.close()


def test_index_rebuild_command_without_scores_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_store(tmp_path, monkeypatch).close()
    assert main(["index", "rebuild"]) == 2
    assert "no sentiment scores stored yet" in capsys.readouterr().err
