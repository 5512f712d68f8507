"""Market regimes, labelled causally, and the metrics split by them.

At each decision time T, from candles closed by T only:

- ``high_vol``: realised volatility over the last day (at least 20 bars) above the 80th
  percentile of its own values over the year before (at least 90 days of them);
- ``trending``: otherwise, when the average directional index (ADX, 14 bars) is at least 25,
  the usual reading of a trend whatever its direction;
- ``ranging``: otherwise;
- ``unknown``: while either measure is still warming up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fusion.backtest import Backtest
from fusion.features.price import adx, realised_vol
from fusion.metrics import max_drawdown, sharpe

REGIMES: tuple[str, ...] = ("trending", "ranging", "high_vol")
ADX_TREND = 25.0
VOL_QUANTILE = 0.8
DAY = pd.Timedelta(days=1)


def label_regimes(candles: pd.DataFrame, bar: pd.Timedelta) -> pd.Series:
    """A regime per row of ``candles`` (indexed by decision time)."""
    vol_bars = max(20, int(DAY / bar))
    year = max(2, int(365 * DAY / bar))
    vol = realised_vol(candles["close"], vol_bars)
    ceiling = vol.rolling(year, min_periods=max(2, int(90 * DAY / bar))).quantile(VOL_QUANTILE)
    trend = adx(candles)
    out = np.where(trend >= ADX_TREND, "trending", "ranging").astype(object)
    out[(vol > ceiling).to_numpy()] = "high_vol"
    out[(ceiling.isna() | vol.isna() | trend.isna()).to_numpy()] = "unknown"
    return pd.Series(out, index=candles.index, name="regime")


def regime_table(
    runs: dict[str, Backtest],
    labels: pd.Series,
    bars_per_year: float,
    fwd: pd.Series | None = None,
) -> list[dict[str, Any]]:
    """Rows of (regime, arm): bars, share of the arm's bars, Sharpe (annualised over the
    regime's bars), total return, max drawdown within them and hit rate."""
    rows: list[dict[str, Any]] = []
    for regime in (*REGIMES, "unknown"):
        for arm, bt in runs.items():
            lab = labels.reindex(bt.net.index)
            m = (lab == regime).to_numpy()
            if not m.any():
                continue
            r = bt.net.to_numpy()[m]
            w = bt.position.to_numpy()[m]
            hit = None
            if fwd is not None:
                f = fwd.reindex(bt.net.index).to_numpy()[m]
                ok = (w != 0) & np.isfinite(f) & (f != 0)
                hit = float((np.sign(w[ok]) == np.sign(f[ok])).mean()) if ok.any() else None
            rows.append(
                {
                    "regime": regime,
                    "arm": arm,
                    "bars": int(m.sum()),
                    "share": float(m.mean()),
                    "sharpe": sharpe(r, bars_per_year),
                    "total_return": float(np.prod(1 + r) - 1),
                    "max_drawdown": max_drawdown(r),
                    "hit_rate": hit,
                }
            )
    return rows
