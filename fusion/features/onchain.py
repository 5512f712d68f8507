"""On-chain features: daily changes and z-scores of whatever metrics the provider has.

Computed on the daily series (made regular: a missing day is a hole, never a copy of the day
before), then attached to each decision time T from the newest day published by T: a day's
values are published ``onchain_lag`` after the day ends. A series that stops is not carried
forward for ever: after :data:`MAX_AGE` past its publication the features are missing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fusion.features.base import FeatureSpec

CHANGE_DAYS: tuple[int, ...] = (1, 7)
Z_DAYS = 30
Z_MIN_DAYS = 20  # a window with a few holes still gives a z-score
MAX_AGE = pd.Timedelta(days=2)
DAY = pd.Timedelta(days=1)

_UNSAFE = re.compile(r"[^0-9A-Za-z]+")


def metric_key(metric: str) -> str:
    return _UNSAFE.sub("_", metric).strip("_")


def onchain_specs(metrics: list[str]) -> list[FeatureSpec]:
    specs: list[FeatureSpec] = []
    for m in metrics:
        key = metric_key(m)
        specs += [FeatureSpec(f"oc_{key}_chg{k}", "onchain", k, "day") for k in CHANGE_DAYS]
        specs.append(FeatureSpec(f"oc_{key}_z{Z_DAYS}", "onchain", Z_DAYS - 1, "day"))
    return specs


def usable_metrics(onchain: pd.DataFrame) -> list[str]:
    """Metrics with at least one value, in a fixed (sorted) order."""
    return sorted(str(c) for c in onchain.columns if onchain[c].notna().any())


def daily_features(onchain: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Features per day on a regular daily grid from the first to the last day given.

    Values go through a signed log (counts, fees and hash rates span orders of magnitude);
    a change is a difference of those logs, a z-score compares the day with the 30 before it
    and itself.
    """
    if onchain.empty or not metrics:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="day"))
    grid = pd.date_range(onchain.index.min(), onchain.index.max(), freq="D", name="day")
    values = onchain.reindex(grid)[metrics]
    x = np.sign(values) * np.log1p(values.abs())
    cols: dict[str, pd.Series] = {}
    for m in metrics:
        key = metric_key(m)
        s = x[m]
        for k in CHANGE_DAYS:
            cols[f"oc_{key}_chg{k}"] = s.diff(k)
        roll = s.rolling(Z_DAYS, min_periods=Z_MIN_DAYS)
        sd = roll.std()
        cols[f"oc_{key}_z{Z_DAYS}"] = (s - roll.mean()) / sd.where(sd > 1e-12)
    out = pd.DataFrame(cols, index=grid)
    out["_warm"] = np.arange(len(grid)) >= Z_DAYS - 1
    return out


def align_onchain(
    daily: pd.DataFrame, decision_times: pd.DatetimeIndex, lag: pd.Timedelta
) -> tuple[pd.DataFrame, pd.Series]:
    """Each decision time gets the newest day published by then (``day + 1 day + lag <= T``).

    Returns the features and a coverage flag: a published day within :data:`MAX_AGE` whose
    features have warmed up.
    """
    feature_cols = [c for c in daily.columns if c != "_warm"]
    if daily.empty:
        return (
            pd.DataFrame(index=decision_times, columns=feature_cols, dtype=np.float64),
            pd.Series(False, index=decision_times),
        )
    known = daily.copy()
    known["_available_at"] = (known.index + DAY + lag).as_unit("ns")
    left = pd.DataFrame({"_t": decision_times.as_unit("ns")})
    merged = pd.merge_asof(
        left,
        known.reset_index(drop=True),
        left_on="_t",
        right_on="_available_at",
        direction="backward",
        allow_exact_matches=True,
        tolerance=MAX_AGE,
    )
    merged.index = decision_times
    coverage = merged["_warm"].astype("boolean").fillna(False).astype(bool)
    return merged[feature_cols].astype(np.float64), coverage
