"""What the model learns: the direction of the move a trade would have caught.

A signal at the close of bar t fills at the open of bar t+1, so the forward return of row t
runs from that open to the close of bar t+h (h = the horizon in bars). Moves smaller than the
dead zone are "flat": too small to pay for a round trip, they are left out of training rather
than forced into up or down. The label of row t is only known at the close of bar t+h: the
walk-forward purges that many rows before each test window (fusion/walkforward.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def forward_return(candles: pd.DataFrame, horizon: int) -> pd.Series:
    """Simple return from the next bar's open to the close ``horizon`` bars on, by row.

    ``candles`` is indexed by decision time (or open time: the result keeps the index). The
    last ``horizon`` rows have no forward return (NaN).
    """
    if horizon < 1:
        raise ValueError("horizon must be at least one bar")
    entry = candles["open"].shift(-1)
    exit_ = candles["close"].shift(-horizon)
    return (exit_ / entry - 1.0).rename("fwd_return")


def direction(fwd: pd.Series, dead_zone_bps: float) -> pd.Series:
    """1.0 up, 0.0 down, NaN for flat moves and rows whose future is not known yet."""
    dz = dead_zone_bps / 10_000.0
    values = fwd.to_numpy(np.float64)
    out = np.full(len(values), np.nan)
    with np.errstate(invalid="ignore"):
        out[values > dz] = 1.0
        out[values < -dz] = 0.0
    return pd.Series(out, index=fwd.index, name="up")
