"""Sentiment features from the as-of index points (nlp/index.py): level, change, z-score,
volume, dispersion and the news-versus-social mix.

Points are laid on a regular grid of buckets from the first point to the last decision time:
a bucket without a point had no documents (``n_docs`` 0, mean unknown) and the smoothed index
level carries over, as the served index does. A bucket's row is known at its point's
``asof`` (never before the bucket ends); each decision time T takes the newest row known by
T. Hourly and shorter bars read the hourly index, daily and longer bars the daily one: the
choice depends on the timeframe only, so it cannot change with how much history is known.

A quiet bucket is not a dead feed: once :data:`MAX_QUIET` has passed since the newest bucket
with a point, the features are missing and the group is not covered, as an on-chain series
that stops is not carried forward (without this an archive that ends reads as weeks of "no
news", and an ablation would grade sentiment on a period with no sentiment data at all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.settings import parse_duration
from fusion.features.base import FeatureSpec

NEWS = "news"
ALL = "all"
#: Longest run of buckets without a point that still counts as quiet rather than missing.
MAX_QUIET = pd.Timedelta(days=3)


def index_freq(bar: pd.Timedelta) -> str:
    return "1d" if bar >= pd.Timedelta(days=1) else "1h"


def change_buckets(freq: str) -> int:
    """The longer change window: a day of hourly buckets, a week of daily ones."""
    return 24 if freq == "1h" else 7


def sentiment_specs(freq: str) -> list[FeatureSpec]:
    k = change_buckets(freq)
    names_warm = [
        ("sent_level", 0),
        ("sent_chg_1", 1),
        (f"sent_chg_{k}", k),
        ("sent_mean", 0),
        ("sent_z", 0),
        ("sent_docs", 0),
        (f"sent_docs_ratio_{k}", k - 1),
        ("sent_dispersion", 0),
        ("sent_news_share", 0),
        ("sent_news_minus_social", 0),
    ]
    return [FeatureSpec(n, "sentiment", w, "bucket") for n, w in names_warm]


def _family(points: pd.DataFrame, family: str, grid: pd.DatetimeIndex) -> pd.DataFrame:
    rows = points.loc[points["family"] == family].set_index("ts")
    return rows.reindex(grid)


def _social(points: pd.DataFrame, grid: pd.DatetimeIndex) -> tuple[pd.Series, pd.Series]:
    """Documents and their mean over every family that is neither news nor the total."""
    social = points.loc[~points["family"].isin([ALL, NEWS])]
    if social.empty:
        nan = pd.Series(np.nan, index=grid)
        return pd.Series(0.0, index=grid), nan
    social = social.assign(weighted=social["mean"] * social["n_docs"])
    g = social.groupby("ts")[["n_docs", "weighted"]].sum().reindex(grid)
    n = g["n_docs"].fillna(0.0)
    return n, g["weighted"] / n.where(n > 0)


def bucket_features(
    sentiment: pd.DataFrame, freq: str, last_decision: pd.Timestamp | None
) -> pd.DataFrame:
    """Features per bucket (index: bucket start) plus ``_available_at`` and ``_warm``."""
    width = pd.Timedelta(parse_duration(freq))
    points = sentiment.loc[sentiment["freq"] == freq]
    total = points.loc[points["family"] == ALL]
    if total.empty or last_decision is None:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    first = total["ts"].min()
    last = max(total["ts"].max(), (last_decision - width).floor(width))
    grid = pd.date_range(first, last, freq=width, name="ts")
    a = _family(points, ALL, grid)
    news = _family(points, NEWS, grid)
    social_n, social_mean = _social(points, grid)
    k = change_buckets(freq)
    n_docs = a["n_docs"].fillna(0.0)
    level = ((a["index"] - 50.0) / 50.0).ffill()
    mean_docs = n_docs.rolling(k, min_periods=k).mean()
    out = pd.DataFrame(
        {
            "sent_level": level,
            "sent_chg_1": level.diff(1),
            f"sent_chg_{k}": level.diff(k),
            "sent_mean": a["mean"],
            "sent_z": a["zscore"],
            "sent_docs": np.log1p(n_docs),
            f"sent_docs_ratio_{k}": n_docs / mean_docs.where(mean_docs > 0),
            "sent_dispersion": a["dispersion"],
            "sent_news_share": news["n_docs"].fillna(0.0) / n_docs.where(n_docs > 0),
            "sent_news_minus_social": news["mean"] - social_mean.where(social_n > 0),
        },
        index=grid,
    )
    # Buckets since the newest one with a point; past MAX_QUIET the feed is taken as stopped.
    pos = np.arange(len(grid))
    last_point = pd.Series(np.where(a["n_docs"].notna(), pos, np.nan), index=grid).ffill()
    alive = (pos - last_point.to_numpy()) * width <= MAX_QUIET
    out.loc[~alive, :] = np.nan
    known = pd.Series(grid + width, index=grid)
    late = points.groupby("ts")["asof"].max().reindex(grid)
    # A bucket's row is known when its own points are, and never before the rows before it
    # (changes and carried levels read them): the running maximum keeps that order.
    out["_available_at"] = known.where(late.isna(), np.maximum(known, late)).cummax()
    out["_warm"] = (pos >= k) & alive
    return out


def align_sentiment(
    buckets: pd.DataFrame, decision_times: pd.DatetimeIndex, bar: pd.Timedelta, freq: str
) -> tuple[pd.DataFrame, pd.Series]:
    feature_cols = [s.name for s in sentiment_specs(freq)]
    if buckets.empty:
        return (
            pd.DataFrame(index=decision_times, columns=feature_cols, dtype=np.float64),
            pd.Series(False, index=decision_times),
        )
    width = pd.Timedelta(parse_duration(freq))
    right = buckets.reset_index(drop=True)
    right["_available_at"] = pd.DatetimeIndex(right["_available_at"]).as_unit("ns")
    merged = pd.merge_asof(
        pd.DataFrame({"_t": decision_times.as_unit("ns")}),
        right,
        left_on="_t",
        right_on="_available_at",
        direction="backward",
        tolerance=2 * max(width, bar),
    )
    merged.index = decision_times
    coverage = merged["_warm"].astype("boolean").fillna(False).astype(bool)
    return merged[feature_cols].astype(np.float64), coverage
