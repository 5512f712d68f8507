"""One function builds the features, for the backtest and for the live signal alike.

:func:`build_features` turns a :class:`~fusion.data.MarketData` into a frame indexed by
decision time T (the close of each bar). It is vectorised over the whole history and causal
by construction: every row reads candles closed by T, on-chain days published by T and index
points known by T. :func:`feature_row` is the live path: the same function on what a provider
says was known at T, last row. The look-ahead guard (fusion/lookahead.py) proves the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from core.settings import parse_duration
from fusion.data import DataProvider, FusionDataError, MarketData, utc_timestamp
from fusion.features.base import GROUPS, CustomFeature, FeatureSpec, Group
from fusion.features.onchain import align_onchain, daily_features, onchain_specs, usable_metrics
from fusion.features.price import price_features, price_specs
from fusion.features.sentiment import (
    align_sentiment,
    bucket_features,
    index_freq,
    sentiment_specs,
)


@dataclass(frozen=True)
class FeatureFrame:
    """Features by decision time, what each declares, and where each group has data.

    ``coverage[group]`` is True at rows where the group's source has data and its features
    have warmed up; an ablation arm uses the rows where all of its groups are covered.
    """

    values: pd.DataFrame
    specs: dict[str, FeatureSpec]
    coverage: pd.DataFrame
    bucket: pd.Timedelta | None = None
    notes: tuple[str, ...] = field(default=())

    def columns(self, groups: Sequence[Group]) -> list[str]:
        return [n for n, s in self.specs.items() if s.group in groups]

    def usable(self, groups: Sequence[Group]) -> pd.Series:
        mask = pd.Series(True, index=self.values.index)
        for g in groups:
            mask &= self.coverage[g]
        return mask


def _price_coverage(specs: list[FeatureSpec], n: int, index: pd.DatetimeIndex) -> pd.Series:
    warm = max((s.warmup for s in specs), default=0)
    return pd.Series(np.arange(n) >= warm, index=index)


def build_features(md: MarketData, extra: Sequence[CustomFeature] = ()) -> FeatureFrame:
    """The feature frame of ``md``: one row per bar, indexed by the bar's close time."""
    decision = md.close_times
    by_close = md.candles.set_axis(decision)
    pspecs = price_specs()
    parts = [price_features(by_close)]
    coverage = {"price": _price_coverage(pspecs, len(decision), decision)}

    metrics = usable_metrics(md.onchain)
    ospecs = onchain_specs(metrics)
    oc, coverage["onchain"] = align_onchain(
        daily_features(md.onchain, metrics), decision, md.onchain_lag
    )
    parts.append(oc)

    freq = index_freq(md.bar)
    sspecs = sentiment_specs(freq)
    last = decision[-1] if len(decision) else None
    se, coverage["sentiment"] = align_sentiment(
        bucket_features(md.sentiment, freq, last), decision, md.bar, freq
    )
    parts.append(se)

    specs = {s.name: s for s in (*pspecs, *ospecs, *sspecs)}
    for feat in extra:
        if feat.name in specs:
            raise FusionDataError(f"custom feature {feat.name!r} repeats a feature's name")
        col = feat.fn(by_close)
        if not isinstance(col, pd.Series) or not col.index.equals(decision):
            raise FusionDataError(
                f"custom feature {feat.name!r} must return a series on the decision times"
            )
        parts.append(col.astype(np.float64).rename(feat.name).to_frame())
        specs[feat.name] = FeatureSpec(feat.name, feat.group, feat.warmup)

    values = pd.concat(parts, axis=1)[list(specs)]
    values.index.name = "t"
    notes = []
    if not metrics:
        notes.append("no on-chain history")
    if not coverage["sentiment"].any():
        notes.append("no sentiment history")
    return FeatureFrame(
        values=values,
        specs=specs,
        coverage=pd.DataFrame({g: coverage[g] for g in GROUPS}, index=decision),
        bucket=pd.Timedelta(parse_duration(freq)),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class FeatureRow:
    """The live feature row: values at the newest decision time known at ``asof``."""

    asset: str
    timeframe: str
    t: pd.Timestamp
    asof: pd.Timestamp
    values: pd.Series
    coverage: dict[str, bool]


def feature_row(
    provider: DataProvider,
    asset: str,
    timeframe: str,
    t: datetime | pd.Timestamp,
    extra: Sequence[CustomFeature] = (),
) -> FeatureRow:
    """:func:`build_features` on what ``provider`` says was known at ``t``; its last row."""
    asof = utc_timestamp(t)
    md = provider.market_data(asset, timeframe, asof=asof.to_pydatetime())
    if md.candles.empty:
        raise FusionDataError(f"no {timeframe} candles for {asset} closed by {asof}")
    frame = build_features(md, extra)
    last = frame.values.index[-1]
    return FeatureRow(
        asset=md.asset,
        timeframe=timeframe,
        t=last,
        asof=asof,
        values=frame.values.iloc[-1],
        coverage={g: bool(frame.coverage[g].iloc[-1]) for g in GROUPS},
    )
