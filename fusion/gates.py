"""The model proposes; the gates dispose.

- :func:`promotion_gate`: a trained model may produce live signals only when its walk-forward
  card clears the configured thresholds (out-of-sample Sharpe after costs, hit rate,
  calibration error, probability of backtest overfitting, enough out-of-sample bars). If not,
  the asset's signal is "no model", with every reason.
- :func:`risk_gate`: after the model, deterministic rules turn a signal into "hold", each with
  its reason: stale data, drift, extreme volatility, the daily drawdown limit, a sentiment
  shock. Rules read numbers the caller measured as of the signal's time
  (:func:`risk_context` measures them from a :class:`~fusion.data.MarketData`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from core.settings import FusionGateSettings, FusionRiskSettings
from fusion.data import MarketData, utc_timestamp
from fusion.features.price import realised_vol
from fusion.metrics import Metrics

NO_MODEL = "no model"
HOLD = "hold"


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "promoted" if self.passed else f"{NO_MODEL}: " + "; ".join(self.reasons)


def _fails(value: float | int | None, ok: bool) -> bool:
    return value is None or not ok


def promotion_gate(
    metrics: Metrics, pbo: float | None, settings: FusionGateSettings
) -> GateDecision:
    """Check a walk-forward card's figures (``metrics`` of the chosen arm) against the gate."""
    reasons = []
    sharpe = metrics.get("sharpe")
    if _fails(sharpe, sharpe is not None and sharpe >= settings.min_sharpe):
        reasons.append(f"out-of-sample Sharpe {_show(sharpe)} < {settings.min_sharpe}")
    hit = metrics.get("hit_rate")
    if _fails(hit, hit is not None and hit >= settings.min_hit_rate):
        reasons.append(f"hit rate {_show(hit)} < {settings.min_hit_rate}")
    ece = metrics.get("calibration_error")
    if _fails(ece, ece is not None and ece <= settings.max_calibration_error):
        reasons.append(f"calibration error {_show(ece)} > {settings.max_calibration_error}")
    if _fails(pbo, pbo is not None and pbo <= settings.max_pbo):
        reasons.append(f"probability of backtest overfitting {_show(pbo)} > {settings.max_pbo}")
    bars = metrics.get("bars") or 0
    if bars < settings.min_oos_bars:
        reasons.append(f"{bars} out-of-sample bars < {settings.min_oos_bars}")
    return GateDecision(not reasons, tuple(reasons))


def _show(x: float | int | None) -> str:
    return "unknown" if x is None else f"{x:.3g}"


# --- risk gate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskContext:
    """What the risk rules read, measured as of the signal time ``now``.

    ``data_age_bars``: bars between the newest closed candle and ``now``; ``vol_z``: current
    realised volatility in standard deviations of its trailing values; ``day_return``: the
    strategy's return over the last 24 hours (None: unknown); ``sentiment_z``: the newest
    known sentiment z-score; ``drift_stale``: the drift check marked the model stale.
    """

    now: datetime
    data_age_bars: float
    vol_z: float | None = None
    day_return: float | None = None
    sentiment_z: float | None = None
    drift_stale: bool = False
    drift_reason: str | None = None


@dataclass(frozen=True)
class RiskDecision:
    action: str
    position: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def held(self) -> bool:
        return bool(self.reasons)


def risk_gate(
    action: str, position: float, ctx: RiskContext, settings: FusionRiskSettings
) -> RiskDecision:
    """The signal as proposed, or "hold" (position 0) with every rule that fired."""
    reasons = []
    if ctx.data_age_bars > settings.max_data_age_bars:
        reasons.append(
            f"stale data: newest candle {ctx.data_age_bars:.1f} bars old "
            f"(limit {settings.max_data_age_bars})"
        )
    if ctx.drift_stale:
        reasons.append(f"drift: {ctx.drift_reason or 'features drifted from the training window'}")
    if ctx.vol_z is not None and ctx.vol_z > settings.max_vol_z:
        reasons.append(f"extreme volatility: {ctx.vol_z:.1f} sigma (limit {settings.max_vol_z})")
    if ctx.day_return is not None and ctx.day_return <= -settings.daily_drawdown_limit:
        reasons.append(
            f"daily drawdown {ctx.day_return:.1%} beyond the limit "
            f"{-settings.daily_drawdown_limit:.1%}"
        )
    if ctx.sentiment_z is not None and abs(ctx.sentiment_z) > settings.sentiment_shock_sigma:
        reasons.append(
            f"sentiment shock: z-score {ctx.sentiment_z:+.1f} "
            f"(limit {settings.sentiment_shock_sigma})"
        )
    if reasons:
        return RiskDecision(HOLD, 0.0, tuple(reasons))
    return RiskDecision(action, position)


DAY = pd.Timedelta(days=1)


def risk_context(
    md: MarketData,
    now: datetime,
    *,
    day_return: float | None = None,
    drift_stale: bool = False,
    drift_reason: str | None = None,
) -> RiskContext:
    """Measure the risk inputs from what ``md`` knew at ``now`` (pass an as-of view)."""
    t = utc_timestamp(now)
    if md.candles.empty:
        return RiskContext(now=t.to_pydatetime(), data_age_bars=float("inf"))
    last_close = md.close_times[-1]
    age = (t - last_close) / md.bar
    # A day of bars (at least 20) for the current volatility, a month (at least 100 bars)
    # for its baseline.
    vol = realised_vol(md.candles["close"], max(20, int(DAY / md.bar))).dropna()
    history = vol.iloc[-max(100, int(30 * DAY / md.bar)) - 1 : -1]
    vol_z = None
    if len(history) >= 2 and history.std(ddof=1) > 0:
        vol_z = float((vol.iloc[-1] - history.mean()) / history.std(ddof=1))
    sent = md.sentiment
    known = sent.loc[(sent["family"] == "all") & (sent["asof"] <= t) & sent["zscore"].notna()]
    sentiment_z = float(known.sort_values("asof")["zscore"].iloc[-1]) if len(known) else None
    return RiskContext(
        now=t.to_pydatetime(),
        data_age_bars=float(age),
        vol_z=vol_z,
        day_return=day_return,
        sentiment_z=sentiment_z,
        drift_stale=drift_stale,
        drift_reason=drift_reason,
    )


def trailing_return(net: pd.Series, now: datetime, span: pd.Timedelta = DAY) -> float:
    """Compounded return of ``net`` (per-bar returns by time) over ``span`` before ``now``."""
    t = utc_timestamp(now)
    window = net.loc[(net.index > t - span) & (net.index <= t)]
    return float(np.prod(1.0 + window.to_numpy()) - 1.0)
