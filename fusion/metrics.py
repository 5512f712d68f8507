"""Performance and forecast-quality metrics, annualised for the bar size.

Crypto trades around the clock, so a year is 365 days of bars: 8,760 hourly bars, 365 daily
ones (:func:`fusion.data.bars_per_year`). Sharpe and Sortino are per-bar ratios scaled by
the square root of that; returns compound. Values that cannot be computed (no trades, no
spread) are None, never a made-up zero.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

Metrics = dict[str, float | int | None]


def _f(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def sharpe(net: np.ndarray, bars_per_year: float) -> float | None:
    if len(net) < 2:
        return None
    sd = float(np.std(net, ddof=1))
    return _f(float(np.mean(net)) / sd * math.sqrt(bars_per_year)) if sd > 0 else None


def sortino(net: np.ndarray, bars_per_year: float) -> float | None:
    if len(net) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(net, 0.0) ** 2)))
    return _f(float(np.mean(net)) / downside * math.sqrt(bars_per_year)) if downside > 0 else None


def max_drawdown(net: np.ndarray) -> float | None:
    if not len(net):
        return None
    equity = np.cumprod(1.0 + net)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return _f(float(np.min(equity / peak - 1.0)))


def calibration_error(prob: np.ndarray, up: np.ndarray, bins: int = 10) -> float | None:
    """Expected calibration error: |mean P - share up| per probability decile, weighted."""
    ok = np.isfinite(prob) & np.isfinite(up)
    p, y = prob[ok], up[ok]
    if not len(p):
        return None
    which = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            err += abs(float(p[m].mean()) - float(y[m].mean())) * m.sum() / len(p)
    return _f(err)


def performance(
    net: pd.Series,
    position: pd.Series,
    bars_per_year: float,
    *,
    fwd: pd.Series | None = None,
    prob: pd.Series | None = None,
    up: pd.Series | None = None,
) -> Metrics:
    """Every metric of one strategy over the rows of ``net``.

    ``fwd`` (forward return per row) gives the hit rate and the information coefficient
    (Spearman rank correlation of ``prob - 0.5`` with it); ``up`` (the 0/1 label) gives the
    calibration error and Brier score of ``prob``.
    """
    r = net.to_numpy(np.float64)
    w = position.reindex(net.index).fillna(0.0).to_numpy(np.float64)
    n = len(r)
    total = float(np.prod(1.0 + r) - 1.0) if n else 0.0
    years = n / bars_per_year
    gains, losses = r[r > 0].sum(), -r[r < 0].sum()
    exposed = w != 0
    out: Metrics = {
        "bars": n,
        "total_return": _f(total),
        "annual_return": _f((1.0 + total) ** (1.0 / years) - 1.0) if n and total > -1 else None,
        "annual_vol": _f(float(np.std(r, ddof=1)) * math.sqrt(bars_per_year)) if n > 1 else None,
        "sharpe": sharpe(r, bars_per_year),
        "sortino": sortino(r, bars_per_year),
        "max_drawdown": max_drawdown(r),
        "win_rate": _f(float((r[exposed] > 0).mean())) if exposed.any() else None,
        "profit_factor": _f(gains / losses) if losses > 0 else None,
        "turnover": _f(float(np.abs(np.diff(w, prepend=0.0)).mean()) * bars_per_year)
        if n
        else None,
        "exposure": _f(float(exposed.mean())) if n else None,
        "mean_abs_position": _f(float(np.abs(w).mean())) if n else None,
        "hit_rate": None,
        "ic": None,
        "calibration_error": None,
        "brier": None,
    }
    if fwd is not None:
        f = fwd.reindex(net.index).to_numpy(np.float64)
        m = exposed & np.isfinite(f) & (f != 0)
        out["hit_rate"] = _f(float((np.sign(w[m]) == np.sign(f[m])).mean())) if m.any() else None
        if prob is not None:
            p = prob.reindex(net.index).to_numpy(np.float64)
            ok = np.isfinite(p) & np.isfinite(f)
            if ok.sum() > 2 and np.ptp(p[ok]) > 0 and np.ptp(f[ok]) > 0:
                out["ic"] = _f(float(stats.spearmanr(p[ok] - 0.5, f[ok]).statistic))
    if prob is not None and up is not None:
        p = prob.reindex(net.index).to_numpy(np.float64)
        y = up.reindex(net.index).to_numpy(np.float64)
        out["calibration_error"] = calibration_error(p, y)
        ok = np.isfinite(p) & np.isfinite(y)
        out["brier"] = _f(float(np.mean((p[ok] - y[ok]) ** 2))) if ok.any() else None
    return out
