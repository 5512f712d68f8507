"""What every feature declares: its name, its source group and its warm-up.

The warm-up is the history a feature needs before its value stops depending on where the
data happens to start (a 24-bar return needs 24 bars; an exponential average never fully
forgets its seed, so it declares the bars after which the seed's weight is negligible). Rows
before a group's longest warm-up are not used for training or testing, and the look-ahead
guard checks each declaration against the data (fusion/lookahead.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Group = Literal["price", "onchain", "sentiment"]
GROUPS: tuple[Group, ...] = ("price", "onchain", "sentiment")
Unit = Literal["bar", "day", "bucket"]


@dataclass(frozen=True)
class FeatureSpec:
    """``warmup`` is counted in ``unit``s of the feature's own series: bars of the timeframe
    for price features, days for on-chain ones, index buckets for sentiment."""

    name: str
    group: Group
    warmup: int
    unit: Unit = "bar"

    def unit_span(self, bar: pd.Timedelta, bucket: pd.Timedelta | None = None) -> pd.Timedelta:
        if self.unit == "bar":
            return bar
        if self.unit == "day":
            return pd.Timedelta(days=1)
        return bucket if bucket is not None else bar

    def warmup_span(self, bar: pd.Timedelta, bucket: pd.Timedelta | None = None) -> pd.Timedelta:
        """The warm-up as a span of time, the unit the warm-up check cuts history by."""
        return self.warmup * self.unit_span(bar, bucket)


@dataclass(frozen=True)
class CustomFeature:
    """A user's own price-derived feature, checked by the same guard as the project's.

    ``fn`` receives the candles indexed by decision time (bar close) and returns a series on
    that index. It must read only rows at or before each row: the look-ahead guard proves it.
    """

    name: str
    fn: Callable[[pd.DataFrame], pd.Series]
    warmup: int = 0
    group: Group = "price"
