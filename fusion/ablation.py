"""The ablation: what each data source adds, with intervals that respect time.

Arms, on the same walk-forward folds: buy-and-hold, price only, price + on-chain, price +
on-chain + sentiment. Each step is compared with the one before it on the bars both cover,
through a stationary block bootstrap of the paired per-bar returns (``arch``; block length
from Politis and White's automatic selection, as corrected by Patton, Politis and White), so
the intervals keep the serial dependence of returns that an i.i.d. resample would destroy.
A difference whose interval contains 0 is reported as no measurable difference: for the
sentiment step that reads "no measurable edge from sentiment", and it is a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap, optimal_block_length

from fusion.features.base import Group
from fusion.metrics import sharpe

BUY_AND_HOLD = "buy_and_hold"
ARMS: dict[str, tuple[Group, ...]] = {
    "price": ("price",),
    "price_onchain": ("price", "onchain"),
    "price_onchain_sentiment": ("price", "onchain", "sentiment"),
}
#: Each step of the ablation: (arm, the arm it is compared with, what the step adds).
STEPS: tuple[tuple[str, str, str], ...] = (
    ("price", BUY_AND_HOLD, "a price model"),
    ("price_onchain", "price", "on-chain data"),
    ("price_onchain_sentiment", "price_onchain", "sentiment"),
)
MIN_COMPARE_BARS = 30


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None

    def verdict(self) -> str:
        if self.low is None or self.high is None:
            return "not measurable"
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "no measurable difference"


@dataclass(frozen=True)
class Comparison:
    """``arm`` minus ``baseline`` over ``bars`` common bars: annualised Sharpe and annualised
    mean return, each with its bootstrap interval."""

    arm: str
    baseline: str
    adds: str
    bars: int
    first: str | None
    last: str | None
    block_size: float | None
    sharpe_diff: Interval
    return_diff: Interval
    note: str | None = None

    @property
    def verdict(self) -> str:
        return self.sharpe_diff.verdict() if self.note is None else "not run"

    def statement(self) -> str:
        """One plain sentence for the card."""
        if self.note is not None:
            return f"{self.adds}: not compared ({self.note})"
        v = self.verdict
        if v == "no measurable difference":
            return f"no measurable edge from {self.adds}" + (
                f" (Sharpe difference {_fmt(self.sharpe_diff)})"
            )
        if v == "better":
            return f"{self.adds} raises the Sharpe ratio: {_fmt(self.sharpe_diff)}"
        if v == "worse":
            return f"{self.adds} lowers the Sharpe ratio: {_fmt(self.sharpe_diff)}"
        return f"{self.adds}: {v}"


def _fmt(i: Interval) -> str:
    return f"{i.estimate:+.2f} [{i.low:+.2f}, {i.high:+.2f}]"


def not_run(arm: str, baseline: str, adds: str, why: str) -> Comparison:
    empty = Interval(None, None, None)
    return Comparison(arm, baseline, adds, 0, None, None, None, empty, empty, note=why)


def block_length(diff: np.ndarray) -> float:
    """The stationary bootstrap's expected block length for this series, kept in
    [1, n/4] (the automatic rule can return 0 or NaN on a constant or tiny series)."""
    n = len(diff)
    try:
        with np.errstate(all="ignore"):
            b = float(optimal_block_length(diff)["stationary"].iloc[0])
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        b = float("nan")
    if not math.isfinite(b):
        b = math.sqrt(n)
    return min(max(1.0, b), max(1.0, n / 4))


def compare(
    arm: str,
    baseline: str,
    adds: str,
    a: pd.Series,
    b: pd.Series,
    bars_per_year: float,
    *,
    reps: int,
    confidence: float,
    seed: int,
) -> Comparison:
    """``a`` minus ``b`` (per-bar net returns on the same index)."""
    common = a.index.intersection(b.index)
    x, y = a.loc[common].to_numpy(np.float64), b.loc[common].to_numpy(np.float64)
    if len(common) < MIN_COMPARE_BARS:
        return not_run(arm, baseline, adds, f"only {len(common)} common bars")

    def stat(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        sp, sq = sharpe(p, bars_per_year), sharpe(q, bars_per_year)
        ds = (sp if sp is not None else 0.0) - (sq if sq is not None else 0.0)
        return np.array([ds, (float(np.mean(p)) - float(np.mean(q))) * bars_per_year])

    est = stat(x, y)
    block = block_length(x - y)
    # The stationary bootstrap takes a mean block length, which need not be whole; arch
    # annotates it as int.
    bs = StationaryBootstrap(block, x, y, seed=np.random.default_rng(seed))  # type: ignore[arg-type]
    ci = bs.conf_int(stat, reps=reps, method="percentile", size=confidence)
    return Comparison(
        arm=arm,
        baseline=baseline,
        adds=adds,
        bars=len(common),
        first=common[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
        last=common[-1].strftime("%Y-%m-%dT%H:%M:%SZ"),
        block_size=block,
        sharpe_diff=Interval(float(est[0]), float(ci[0, 0]), float(ci[1, 0])),
        return_diff=Interval(float(est[1]), float(ci[0, 1]), float(ci[1, 1])),
    )
