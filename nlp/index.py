"""As-of sentiment indices per asset, source family and frequency, built from stored scores.

The promise against look-ahead bias: bucket ``[ts, ts + freq)`` holds the documents with
``ts <= ingested_at < ts + freq``, and its value is known at ``asof = ts + freq``. Smoothing
(EWMA) and the z-score read only that bucket and earlier ones, so documents ingested later
can never change an earlier point.

Every point is a pure function of a finite look-back: the EWMA keeps the buckets of the last
``EWMA_HORIZON_HALFLIVES`` half-lives (older weights are below 2**-10 and are dropped), the
z-score the previous ``zscore_window`` buckets, and both read only bucket means. Sums are
exactly rounded (``math.fsum``) and decay weights come from one table, so an incremental
update (raw scores for the buckets that may have changed, stored means for the look-back
before them) writes the very same floats as a full rebuild.

A bucket with no documents has no point: gaps are empty buckets, and the EWMA ages the
buckets before a gap by the time it lasted (pandas' ``ewm(halflife, times=...)``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from core.records import Frequency, IndexPoint
from core.settings import IndexSettings
from core.store import ScoredDoc, Store
from core.times import ensure_utc, utcnow

log = logging.getLogger(__name__)

FAMILIES: tuple[str, ...] = ("all", "news", "reddit")
FREQUENCIES: tuple[Frequency, ...] = (Frequency.HOUR, Frequency.DAY)
EWMA_HORIZON_HALFLIVES = 10.0
# A score that arrives this long after its bucket's last update still gets its bucket
# recomputed: covers the time between a scorer stamping ``scored_at`` and committing.
LATE_SCORE_MARGIN = timedelta(hours=1)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WIDTH = {Frequency.HOUR: timedelta(hours=1), Frequency.DAY: timedelta(days=1)}
_FLAT = 1e-12  # a baseline with a smaller spread has no meaningful z-score


def bucket_width(freq: Frequency) -> timedelta:
    return _WIDTH[freq]


def bucket_start(t: datetime, freq: Frequency) -> datetime:
    """Start of the UTC bucket holding ``t`` (hours on the hour, days at midnight UTC)."""
    width = bucket_width(freq)
    return _EPOCH + ((ensure_utc(t) - _EPOCH) // width) * width


def ewma_horizon(settings: IndexSettings) -> int:
    """Buckets the EWMA reads, the current one included."""
    return max(1, math.ceil(EWMA_HORIZON_HALFLIVES * settings.ewma_halflife))


def lookback_buckets(settings: IndexSettings) -> int:
    """Buckets before a point that its value may depend on: the warm-up of any recompute."""
    return max(ewma_horizon(settings), settings.zscore_window)


# --- the pure computation -------------------------------------------------------------------


def compute_index(
    rows: Iterable[ScoredDoc],
    freq: Frequency,
    family: str,
    settings: IndexSettings,
    model_version: str,
    *,
    prior: Iterable[IndexPoint] = (),
) -> list[IndexPoint]:
    """Index points for every non-empty bucket of every asset in ``rows``.

    ``prior``: points already computed for earlier buckets (read back from the store); their
    means only warm up the EWMA and the z-score, so an incremental update needs raw scores
    for the new buckets alone. A bucket present in ``rows`` ignores its prior point.

    Pure and deterministic: the result depends on the set of rows, not their order (sums are
    exactly rounded). Points are sorted by asset, then time. ``family`` is ``"all"`` or a
    source family.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown source family {family!r}; expected one of {FAMILIES}")
    width = bucket_width(freq)
    weights = _decay_table(settings)
    warm = _prior_means(prior, freq, family)
    points: list[IndexPoint] = []
    for asset, buckets in sorted(_buckets(rows, freq, family, settings.bullish_threshold).items()):
        own = {b.k: b for b in buckets}
        history = sorted(
            [(k, m) for k, m in warm.get(asset, {}).items() if k not in own]
            + [(b.k, b.mean) for b in buckets]
        )
        ks = np.array([k for k, _ in history], dtype=np.int64)
        means = np.array([m for _, m in history], dtype=np.float64)
        ewma = _ewma(ks, means, weights)
        zscores = _zscores(ks, means, settings.zscore_window, settings.zscore_min_buckets)
        for i, k in enumerate(ks.tolist()):
            b = own.get(k)
            if b is None:
                continue
            ts = _EPOCH + b.k * width
            points.append(
                IndexPoint(
                    asset=asset,
                    family=family,
                    freq=freq,
                    ts=ts,
                    asof=ts + width,
                    n_docs=b.n_docs,
                    mean=b.mean,
                    dispersion=b.dispersion,
                    share_bullish=b.share_bullish,
                    share_bearish=b.share_bearish,
                    weighted_mean=b.weighted_mean,
                    index=min(100.0, max(0.0, 50.0 + 50.0 * ewma[i])),
                    zscore=zscores[i],
                    model_version=model_version,
                )
            )
    return points


def _prior_means(
    prior: Iterable[IndexPoint], freq: Frequency, family: str
) -> dict[str, dict[int, float]]:
    """Bucket number -> mean per asset, from the prior points of this frequency and family."""
    width = bucket_width(freq)
    out: dict[str, dict[int, float]] = {}
    for p in prior:
        if p.freq == freq and p.family == family:
            out.setdefault(p.asset, {})[(ensure_utc(p.ts) - _EPOCH) // width] = p.mean
    return out


@dataclass(frozen=True)
class _Bucket:
    """One bucket's own statistics, before smoothing."""

    k: int  # bucket number since the epoch
    n_docs: int
    mean: float
    dispersion: float
    share_bullish: float
    share_bearish: float
    weighted_mean: float

    @classmethod
    def of(cls, k: int, docs: Sequence[tuple[float, float]], threshold: float) -> _Bucket:
        """``docs``: (score, engagement) pairs."""
        n = len(docs)
        scores = [s for s, _ in docs]
        mean = math.fsum(scores) / n
        return cls(
            k=k,
            n_docs=n,
            mean=mean,
            dispersion=math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / n),
            share_bullish=sum(s > threshold for s in scores) / n,
            share_bearish=sum(s < -threshold for s in scores) / n,
            weighted_mean=math.fsum(s * w for s, w in docs) / math.fsum(w for _, w in docs),
        )


def _buckets(
    rows: Iterable[ScoredDoc], freq: Frequency, family: str, threshold: float
) -> dict[str, list[_Bucket]]:
    """Per asset, its non-empty buckets in time order. Rows of another family, with a
    non-finite score or engagement, or repeating an (asset, document) pair are left out."""
    width = bucket_width(freq)
    chosen: dict[tuple[str, str], tuple[datetime, float, float]] = {}
    for r in rows:
        if family != "all" and r.family != family:
            continue
        if not (math.isfinite(r.score) and math.isfinite(r.engagement)):
            continue
        cand = (ensure_utc(r.ingested_at), r.score, r.engagement)
        key = (r.asset, r.document_id)
        if key not in chosen or cand < chosen[key]:  # same pick whatever the input order
            chosen[key] = cand
    grouped: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for (asset, _doc), (at, score, engagement) in chosen.items():
        k = (at - _EPOCH) // width
        grouped.setdefault(asset, {}).setdefault(k, []).append((score, engagement))
    return {
        asset: [_Bucket.of(k, docs, threshold) for k, docs in sorted(by_k.items())]
        for asset, by_k in grouped.items()
    }


def _decay_table(settings: IndexSettings) -> np.ndarray:
    """EWMA weight by age in buckets: 0.5 ** (age / halflife), age 0 .. horizon - 1."""
    return np.array(
        [0.5 ** (age / settings.ewma_halflife) for age in range(ewma_horizon(settings))],
        dtype=np.float64,
    )


def _ewma(ks: np.ndarray, means: np.ndarray, weights: np.ndarray) -> list[float]:
    """Time-aware EWMA of bucket means (pandas' ``ewm(halflife, times=...)``, adjust=True),
    truncated to the horizon: an empty stretch ages older buckets by the time it lasted."""
    horizon = len(weights)
    starts = np.searchsorted(ks, ks - horizon, side="right")
    out: list[float] = []
    for i, lo in enumerate(starts):
        w = weights[ks[i] - ks[lo : i + 1]]
        out.append(math.fsum(w * means[lo : i + 1]) / math.fsum(w))
    return out


def _zscores(
    ks: np.ndarray, means: np.ndarray, window: int, min_buckets: int
) -> list[float | None]:
    """Each bucket mean against the non-empty buckets of the previous ``window`` buckets;
    None while that baseline has fewer than ``min_buckets`` of them or no spread."""
    starts = np.searchsorted(ks, ks - window, side="left")
    out: list[float | None] = []
    for i, lo in enumerate(starts):
        base = means[lo:i]
        n = len(base)
        if n < max(2, min_buckets):
            out.append(None)
            continue
        mu = math.fsum(base) / n
        dev = base - mu
        sd = math.sqrt(math.fsum(dev * dev) / (n - 1))
        out.append(None if sd < _FLAT else (float(means[i]) - mu) / sd)
    return out


# --- keeping the stored index current -------------------------------------------------------


@dataclass(frozen=True)
class IndexSummary:
    """What an update or rebuild wrote."""

    model_version: str
    points: int = 0
    assets: tuple[str, ...] = ()
    by_freq: dict[str, int] = field(default_factory=dict)
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    @classmethod
    def of(cls, model_version: str, points: Sequence[IndexPoint]) -> IndexSummary:
        by_freq: dict[str, int] = {}
        for p in points:
            by_freq[p.freq.value] = by_freq.get(p.freq.value, 0) + 1
        return cls(
            model_version=model_version,
            points=len(points),
            assets=tuple(sorted({p.asset for p in points})),
            by_freq=by_freq,
            first_ts=min((p.ts for p in points), default=None),
            last_ts=max((p.ts for p in points), default=None),
        )


def _all_families(
    rows: Sequence[ScoredDoc],
    freq: Frequency,
    settings: IndexSettings,
    model_version: str,
    prior: Sequence[IndexPoint] = (),
) -> list[IndexPoint]:
    return [
        p
        for fam in FAMILIES
        for p in compute_index(rows, freq, fam, settings, model_version, prior=prior)
    ]


def _resume_from(store: Store, model_version: str, freq: Frequency) -> datetime | None:
    """First bucket an incremental update must recompute; None when nothing is stored yet.

    That is the bucket after the newest stored one, or earlier when scores arrived since the
    last update for documents ingested before it (a lagging scorer, a backfill).
    """
    last = store.index.last_ts(model_version, freq)
    if last is None:
        return None
    width = bucket_width(freq)
    resume = last + width
    late = store.index.earliest_ingested_scored_since(model_version, resume - LATE_SCORE_MARGIN)
    if late is not None:
        resume = min(resume, bucket_start(late, freq))
    return resume


def update_index(
    store: Store,
    model_version: str,
    index_settings: IndexSettings,
    *,
    now: datetime | None = None,
) -> IndexSummary:
    """Bring the stored index up to the last complete bucket of each frequency.

    Recomputes from the first bucket that may have changed: raw scores from there on, the
    stored points of the look-back before it as warm-up; then upserts. The open bucket is
    never stored (see :func:`series`).
    """
    now = ensure_utc(now or utcnow())
    written: list[IndexPoint] = []
    for freq in FREQUENCIES:
        width = bucket_width(freq)
        open_start = bucket_start(now, freq)
        resume = _resume_from(store, model_version, freq)
        if resume is not None and resume >= open_start:
            continue
        prior = (
            []
            if resume is None
            else store.index.window(
                model_version,
                freq,
                start=resume - lookback_buckets(index_settings) * width,
                end=resume,
            )
        )
        rows = store.index.scored_documents(model_version, start=resume, asof=open_start)
        points = _all_families(rows, freq, index_settings, model_version, prior)
        store.index.upsert(points)
        written.extend(points)
    summary = IndexSummary.of(model_version, written)
    log.info("index update for %s: %d points", model_version, summary.points)
    return summary


def rebuild_index(
    store: Store,
    model_version: str,
    index_settings: IndexSettings,
    *,
    now: datetime | None = None,
) -> IndexSummary:
    """Recompute every complete bucket of the model version's history and replace the stored
    points in one transaction; the result equals what incremental updates produce."""
    now = ensure_utc(now or utcnow())
    points: list[IndexPoint] = []
    for asset in store.documents.assets():
        rows = store.index.scored_documents(
            model_version, asset=asset, asof=bucket_start(now, Frequency.HOUR)
        )
        for freq in FREQUENCIES:
            open_start = bucket_start(now, freq)
            complete = [r for r in rows if r.ingested_at < open_start]
            points.extend(_all_families(complete, freq, index_settings, model_version))
    store.index.replace(model_version, points)
    summary = IndexSummary.of(model_version, points)
    log.info("index rebuild for %s: %d points", model_version, summary.points)
    return summary


# --- serving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedPoint:
    """A point as the API serves it: ``partial`` marks the still-open bucket, whose value is
    provisional (its ``asof`` is the time it was computed) and is never stored."""

    point: IndexPoint
    partial: bool


def series(
    store: Store,
    model_version: str,
    index_settings: IndexSettings,
    *,
    asset: str,
    freq: Frequency,
    family: str = "all",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
    now: datetime | None = None,
) -> list[ServedPoint]:
    """The newest ``limit`` points with ``start <= ts < end``, oldest first.

    Stored buckets are served as stored. Buckets after the newest stored one (the update has
    not run since they closed, or nothing is stored yet) are computed on the fly, exactly as
    the update will store them; the open one is flagged partial. The cost follows the number
    of scores after the stored index, not the time span.
    """
    now = ensure_utc(now or utcnow())
    start = ensure_utc(start) if start is not None else None
    end = ensure_utc(end) if end is not None else None
    width = bucket_width(freq)
    hi = (
        bucket_start(now, freq) + width
        if end is None
        else min(end, bucket_start(now, freq) + width)
    )
    last = store.index.last_ts(model_version, freq)
    caught_up = None if last is None else last + width
    lo = max((t for t in (caught_up, start) if t is not None), default=None)

    served: list[ServedPoint] = []
    if caught_up is not None:
        stored_end = caught_up if end is None else min(end, caught_up)
        stored = store.index.points(
            asset, freq, model_version, family=family, start=start, end=stored_end, limit=limit
        )
        served.extend(ServedPoint(p, partial=False) for p in stored)
    if lo is None or lo < hi:
        served.extend(
            _fresh(
                store, model_version, index_settings, asset, freq, family, lo, hi, now, caught_up
            )
        )
    return served[-limit:]


def _fresh(
    store: Store,
    model_version: str,
    settings: IndexSettings,
    asset: str,
    freq: Frequency,
    family: str,
    lo: datetime | None,
    hi: datetime,
    now: datetime,
    caught_up: datetime | None,
) -> list[ServedPoint]:
    """Points with ``lo <= ts < hi`` (from the first score when ``lo`` is None), computed as
    of ``now``: raw scores from where the store stops (``caught_up``), its final points
    before that as warm-up."""
    width = bucket_width(freq)
    rows_start: datetime | None = None  # lo is None: nothing stored, no start: all history
    prior: list[IndexPoint] = []
    if lo is not None:
        warm_start = bucket_start(lo, freq) - lookback_buckets(settings) * width
        rows_start = warm_start if caught_up is None else max(caught_up, warm_start)
        if rows_start > warm_start:
            prior = store.index.points(
                asset, freq, model_version, family=family, start=warm_start, end=rows_start
            )
    last_bucket = bucket_start(hi - timedelta(microseconds=1), freq)
    rows = store.index.scored_documents(
        model_version, asset=asset, start=rows_start, asof=min(now, last_bucket + width)
    )
    out: list[ServedPoint] = []
    for p in compute_index(rows, freq, family, settings, model_version, prior=prior):
        if (lo is not None and p.ts < lo) or p.ts >= hi:
            continue
        if p.asof > now:
            out.append(ServedPoint(p.model_copy(update={"asof": now}), partial=True))
        else:
            out.append(ServedPoint(p, partial=False))
    return out
