"""The live path: fit the model on everything known now, and the signal of the latest bar.

Both call the code the backtest calls: :func:`~fusion.features.build_features` on what the
provider knew at ``now``, :func:`~fusion.walkforward.fit_window` for the model,
:func:`~fusion.backtest.positions` for the size. Then the gates: no promoted model gives
"no model" with the reasons; the risk gate may turn the proposal into "hold".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from core.records import Signal
from core.settings import FusionSettings
from fusion.ablation import ARMS
from fusion.backtest import annual_vol, positions
from fusion.data import (
    DataProvider,
    FusionDataError,
    MarketData,
    bars_per_year,
    horizon_bars,
    utc_timestamp,
)
from fusion.drift import DriftReport
from fusion.features.base import CustomFeature, Group
from fusion.features.builder import FeatureFrame, build_features
from fusion.gates import NO_MODEL, GateDecision, risk_context, risk_gate
from fusion.model import FusionModel
from fusion.target import direction, forward_return
from fusion.walkforward import fit_window, window_bars

LONG, SHORT, FLAT = "long", "short", "flat"


def live_groups(md: MarketData) -> tuple[Group, ...]:
    """The richest arm the data covers now (its groups)."""
    frame = build_features(md)
    for arm in reversed(list(ARMS)):
        groups = ARMS[arm]
        if frame.coverage[list(groups)].iloc[-1].all():
            return groups
    return ARMS["price"]


def fit_live_model(
    md: MarketData,
    settings: FusionSettings,
    groups: Sequence[Group] | None = None,
    extra: Sequence[CustomFeature] = (),
) -> FusionModel:
    """The model for live signals: one train window ending at the newest row whose label is
    known in ``md`` (pass an as-of view: nothing after it is read)."""
    frame = build_features(md, extra)
    groups = tuple(groups or live_groups(md))
    h = horizon_bars(md.timeframe, settings.horizon)
    rows, up = _live_rows(md, frame, settings, groups)
    fitted = fit_window(frame, up, frame.columns(groups), rows, settings, h)
    if isinstance(fitted, str):
        raise FusionDataError(f"cannot fit a live model for {md.asset} {md.timeframe}: {fitted}")
    return fitted


def live_window(
    md: MarketData,
    settings: FusionSettings,
    groups: Sequence[Group],
    extra: Sequence[CustomFeature] = (),
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last decision time of the rows :func:`fit_live_model` trains on (trees and
    calibration slice together): the drift check's reference window."""
    frame = build_features(md, extra)
    rows, _up = _live_rows(md, frame, settings, groups)
    if not len(rows):
        return None
    times = frame.values.index
    return times[rows[0]], times[rows[-1]]


def _live_rows(
    md: MarketData, frame: FeatureFrame, settings: FusionSettings, groups: Sequence[Group]
) -> tuple[np.ndarray, pd.Series]:
    """The newest train window's usable, labelled rows, and the labels."""
    h = horizon_bars(md.timeframe, settings.horizon)
    by_close = md.candles.set_axis(frame.values.index)
    up = direction(forward_return(by_close, h), settings.dead_zone_bps)
    train, _test, _embargo = window_bars(md.bar, settings)
    usable = frame.usable(groups).to_numpy() & up.notna().to_numpy()
    rows = np.flatnonzero(usable)
    if len(rows):
        rows = rows[rows > rows[-1] - train]
    return rows, up


@dataclass(frozen=True)
class LiveSignal:
    """The signal of one asset at ``t`` (the newest bar close known at ``asof``)."""

    asset: str
    timeframe: str
    horizon: str
    t: datetime
    asof: datetime
    action: str
    prob_up: float | None
    position: float
    model_version: str | None
    data_age_bars: float
    reasons: tuple[str, ...] = ()
    contributions: dict[str, float] = field(default_factory=dict)

    def record(self) -> Signal:
        """The record the store keeps (its ``ts`` is the decision time)."""
        return Signal(
            asset=self.asset,
            ts=self.t,
            horizon=self.horizon,
            prob_up=self.prob_up,
            action=self.action,
            model_version=self.model_version,
            features_asof=self.t,
            timeframe=self.timeframe,
            position=self.position,
            reasons=self.reasons,
            contributions=self.contributions,
            data_age_bars=self.data_age_bars,
            asof=self.asof,
        )


def live_signal(
    provider: DataProvider,
    asset: str,
    timeframe: str,
    now: datetime,
    model: FusionModel | None,
    settings: FusionSettings,
    *,
    gate: GateDecision | None = None,
    drift: DriftReport | None = None,
    day_return: float | None = None,
    extra: Sequence[CustomFeature] = (),
) -> LiveSignal:
    """Features at the newest closed bar, the model's P(up) and size, then the gates."""
    asof = utc_timestamp(now)
    md = provider.market_data(asset, timeframe, asof=asof.to_pydatetime())
    if md.candles.empty:
        raise FusionDataError(f"no {timeframe} candles for {asset} closed by {asof}")
    t = md.close_times[-1]
    ctx = risk_context(
        md,
        asof.to_pydatetime(),
        day_return=day_return,
        drift_stale=bool(drift and drift.stale),
        drift_reason=drift.reason if drift else None,
    )

    def signal(
        action: str,
        prob: float | None,
        position: float,
        reasons: tuple[str, ...],
        contributions: dict[str, float] | None = None,
    ) -> LiveSignal:
        return LiveSignal(
            asset=md.asset,
            timeframe=timeframe,
            horizon=settings.horizon,
            t=t.to_pydatetime(),
            asof=asof.to_pydatetime(),
            action=action,
            prob_up=prob,
            position=position,
            model_version=model.version if model is not None else None,
            data_age_bars=ctx.data_age_bars,
            reasons=reasons,
            contributions=contributions or {},
        )

    if model is None:
        why = gate.reasons if gate is not None and not gate.passed else ("no trained model",)
        return signal(NO_MODEL, None, 0.0, why)
    if gate is not None and not gate.passed:
        return signal(NO_MODEL, None, 0.0, gate.reasons)
    frame = build_features(md, extra)
    row = frame.values.iloc[[-1]]
    prob = float(model.predict_proba(row)[0])
    lookback = max(2, round(settings.vol_lookback_days * pd.Timedelta(days=1) / md.bar))
    vol = annual_vol(md.candles, lookback, bars_per_year(timeframe)).iloc[[-1]]
    size = positions(pd.Series([prob], index=row.index), vol.set_axis(row.index), settings)
    w = float(size.iloc[0])
    decision = risk_gate(LONG if w > 0 else SHORT if w < 0 else FLAT, w, ctx, settings.risk)
    contrib = model.contributions(row).iloc[0]
    return signal(
        decision.action,
        prob,
        decision.position,
        decision.reasons,
        {str(k): float(v) for k, v in contrib.items()},
    )
