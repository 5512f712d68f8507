"""The look-ahead guard: features (and a model's signals) rebuilt on truncated data must equal
the full run's, and features must stop depending on where history starts once warmed up.

:func:`check_lookahead` asks the provider for what was known at many random cut times (half
exactly at a bar close, where off-by-one leaks show, half inside a bar) and rebuilds the
features from that alone; every value at or before the cut must equal the full history's. A
feature that reads the future (say, the next bar's return) differs at the cut and is named.

:func:`check_warmup` feeds the builder history that starts later and measures, per feature,
how long until its values agree with the full run again; a feature that needs more than it
declares is named, and features with a long start-up are listed with what they need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from fusion.data import DataProvider, FusionDataError, MarketData, iso
from fusion.features.base import CustomFeature
from fusion.features.builder import FeatureFrame, build_features

log = logging.getLogger(__name__)

LONG_WARMUP_BARS = 100
SIGNAL = "signal:prob_up"

#: The leak the guard must catch: at T it reads the return of the bar that closes after T.
PLANTED_LEAK = CustomFeature(
    name="leak_next_return",
    fn=lambda c: np.log(c["close"]).diff().shift(-1),
)

Predict = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Offence:
    """Where a feature first differed between the full and a truncated run."""

    feature: str
    cut: str
    at: str
    full: float | None
    truncated: float | None


@dataclass(frozen=True)
class LookaheadReport:
    cuts: tuple[str, ...]
    features_checked: int
    offences: tuple[Offence, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.offences

    @property
    def offending(self) -> list[str]:
        return sorted({o.feature for o in self.offences})

    def summary(self) -> str:
        if self.ok:
            return (
                f"look-ahead check passed: {self.features_checked} features at "
                f"{len(self.cuts)} cut points"
            )
        return f"look-ahead: features read the future: {', '.join(self.offending)}"


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _mismatch(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """Element-wise: not both missing and not within tolerance."""
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= atol + rtol * np.abs(b)
    return ~(both_nan | close)


def _cut_times(frame: FeatureFrame, bar: pd.Timedelta, cuts: int, seed: int) -> list[pd.Timestamp]:
    times = frame.values.index
    if len(times) < 3:
        raise FusionDataError("too few bars to check for look-ahead (need at least 3)")
    rng = np.random.default_rng(seed)
    lo = min(len(times) - 2, max(1, len(times) // 20))
    rows = np.sort(
        rng.choice(
            np.arange(lo, len(times) - 1), size=min(cuts, len(times) - 1 - lo), replace=False
        )
    )
    out = []
    for k, r in enumerate(rows):
        t = times[r]
        if k % 2:  # inside the bar that follows: that bar must not be seen half-formed
            t = t + bar * float(rng.uniform(0.05, 0.95))
        out.append(t)
    return out


def check_lookahead(
    provider: DataProvider,
    asset: str,
    timeframe: str,
    *,
    cuts: int = 20,
    seed: int = 0,
    extra: Sequence[CustomFeature] = (),
    predict: Predict | None = None,
    atol: float = 1e-9,
    rtol: float = 1e-9,
) -> LookaheadReport:
    """Rebuild at ``cuts`` random times and compare with the full run.

    ``predict`` (a fitted model's ``predict_proba`` over the feature frame) adds the model's
    signal as one more value to check, named :data:`SIGNAL`.
    """
    md = provider.market_data(asset, timeframe)
    full = build_features(md, extra)
    full_vals = _with_signal(full, predict)
    offences: dict[str, Offence] = {}
    cut_times = _cut_times(full, md.bar, cuts, seed)
    for cut in cut_times:
        part = provider.market_data(asset, timeframe, asof=cut.to_pydatetime())
        trunc = _with_signal(build_features(part, extra), predict)
        expected_rows = full_vals.index[full_vals.index <= cut]
        if not trunc.index.equals(expected_rows):
            offences.setdefault(
                "(rows)",
                Offence("(rows)", iso(cut), iso(cut), float(len(expected_rows)), float(len(trunc))),
            )
            continue
        ref = full_vals.loc[expected_rows]
        for col in ref.columns:
            if col in offences:
                continue
            a = trunc[col].to_numpy(np.float64)
            b = ref[col].to_numpy(np.float64)
            bad = np.flatnonzero(_mismatch(a, b, atol, rtol))
            if len(bad):
                i = bad[0]
                offences[col] = Offence(col, iso(cut), iso(ref.index[i]), _num(b[i]), _num(a[i]))
    report = LookaheadReport(
        cuts=tuple(iso(c) for c in cut_times),
        features_checked=full_vals.shape[1],
        offences=tuple(offences[k] for k in sorted(offences)),
    )
    log.info("%s", report.summary())
    return report


def _with_signal(frame: FeatureFrame, predict: Predict | None) -> pd.DataFrame:
    if predict is None:
        return frame.values
    out = frame.values.copy()
    out[SIGNAL] = predict(frame.values)
    return out


# --- warm-up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarmupReport:
    """``needed``: the warm-up each feature showed, in its own unit (None: never agreed).
    ``violations``: features that needed more than they declare. ``long``: features whose
    declared warm-up is at least :data:`LONG_WARMUP_BARS` bars, with that many bars."""

    starts: tuple[str, ...]
    declared: dict[str, int]
    needed: dict[str, int | None]
    violations: tuple[str, ...]
    long: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_warmup(
    md: MarketData,
    *,
    starts: Sequence[datetime | pd.Timestamp] | None = None,
    extra: Sequence[CustomFeature] = (),
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> WarmupReport:
    """Build on history from each of ``starts`` (default: 25% and 50% into the candles, at a
    day boundary) and compare with the full run."""
    full = build_features(md, extra)
    if starts is None:
        idx = md.candles.index
        if len(idx) < 8:
            raise FusionDataError("too few bars to check warm-up")
        starts = [idx[len(idx) // 4].ceil("D"), idx[len(idx) // 2].ceil("D")]
    needed: dict[str, int | None] = {}
    for start in starts:
        s = pd.Timestamp(start)
        part = build_features(md.since(s), extra)
        ref = full.values.loc[part.values.index]
        for name, spec in full.specs.items():
            unit = spec.unit_span(md.bar, full.bucket)
            bad = np.flatnonzero(
                _mismatch(part.values[name].to_numpy(), ref[name].to_numpy(), atol, rtol)
            )
            if not len(bad):
                got: int | None = 0
            elif bad[-1] + 1 >= len(ref):
                got = None
            else:
                agree_from = ref.index[bad[-1] + 1]
                lag = md.onchain_lag if spec.unit == "day" else pd.Timedelta(0)
                got = max(0, int(np.ceil((agree_from - s - lag) / unit)) - 1)
            prev = needed.get(name, 0)
            needed[name] = None if got is None or prev is None else max(prev, got)
    declared = {n: s.warmup for n, s in full.specs.items()}
    violations = tuple(sorted(n for n, got in needed.items() if got is None or got > declared[n]))
    long = {
        n: int(np.ceil(s.warmup_span(md.bar, full.bucket) / md.bar))
        for n, s in full.specs.items()
        if s.warmup_span(md.bar, full.bucket) >= LONG_WARMUP_BARS * md.bar
    }
    return WarmupReport(
        starts=tuple(iso(pd.Timestamp(s)) for s in starts),
        declared=declared,
        needed=needed,
        violations=violations,
        long=long,
    )
