"""From calibrated probabilities to positions to returns after costs.

Timing: a signal at the close of bar t fills at the open of bar t+1 and is held until the
next fill, at the open of bar t+2, so row t earns ``open[t+2] / open[t+1] - 1`` on its
position. Costs (fees plus slippage) are charged on traded notional, ``|w_t - w_{t-1}|``,
at each fill.

Sizing: the calibrated P(up) is a bet with even odds, whose Kelly fraction is ``2p - 1``;
the position takes ``kelly_fraction`` of it, capped at ``max_position``, and is then scaled
down (never up) so that its volatility stays at or below ``vol_target``. Long-only clips
shorts to flat. A bar without a prediction, or whose volatility is not yet known, is flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.settings import FusionSettings
from fusion.features.price import realised_vol


def annual_vol(candles: pd.DataFrame, lookback_bars: int, bars_per_year: float) -> pd.Series:
    """Realised volatility of one-bar log returns over ``lookback_bars``, annualised; known at
    each row's close."""
    return realised_vol(candles["close"], lookback_bars) * np.sqrt(bars_per_year)


def bar_returns(candles: pd.DataFrame) -> pd.Series:
    """What a position decided at row t earns: open of t+2 over open of t+1."""
    o = candles["open"]
    return (o.shift(-2) / o.shift(-1) - 1.0).rename("bar_return")


def positions(
    prob: pd.Series,
    vol: pd.Series,
    settings: FusionSettings,
    *,
    min_edge: float | None = None,
) -> pd.Series:
    """Target position per row from P(up) and annualised volatility."""
    edge = prob.to_numpy(np.float64) - 0.5
    threshold = settings.min_edge if min_edge is None else min_edge
    w = np.clip(settings.kelly_fraction * 2.0 * edge, -settings.max_position, settings.max_position)
    if settings.vol_target is not None:
        v = vol.to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.minimum(1.0, settings.vol_target / v)
        w = w * scale
    if settings.long_only:
        w = np.maximum(w, 0.0)
    w[~np.isfinite(w) | (np.abs(edge) < threshold) | ~np.isfinite(edge)] = 0.0
    return pd.Series(w, index=prob.index, name="position")


@dataclass(frozen=True)
class Backtest:
    """Per-row series over the evaluated rows (each row: decided at its close, earned over
    the next bar)."""

    position: pd.Series
    gross: pd.Series
    cost: pd.Series
    net: pd.Series

    @property
    def equity(self) -> pd.Series:
        return (1.0 + self.net).cumprod().rename("equity")

    @property
    def turnover(self) -> pd.Series:
        return self.position.diff().fillna(self.position).abs()


def run_backtest(position: pd.Series, returns: pd.Series, cost_rate: float) -> Backtest:
    """Trade ``position`` (flat before the first row) over rows with a known ``returns``."""
    keep = returns.notna()
    w = position.loc[keep].fillna(0.0)
    r = returns.loc[keep]
    traded = w.diff().fillna(w).abs()
    gross = (w * r).rename("gross")
    cost = (traded * cost_rate).rename("cost")
    return Backtest(position=w, gross=gross, cost=cost, net=(gross - cost).rename("net"))


def buy_and_hold(returns: pd.Series, cost_rate: float) -> Backtest:
    """Fully long from the first row's fill to the end, one entry cost."""
    return run_backtest(pd.Series(1.0, index=returns.index), returns, cost_rate)
