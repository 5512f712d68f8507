"""The forward ledger: live signals joined with what actually happened at their horizon.

This is the model's true out-of-sample track record, kept apart from any backtest. A signal
stamped at decision time ``ts`` (a bar close) fills at the open of the bar that starts at
``ts`` and is marked at the close of the bar that ends at ``ts + horizon``. Its outcome is
counted only once that bar has closed by ``asof``: the ledger has no look-ahead either.
Each signal is one trade of its own size; the return after costs pays a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from core.settings import parse_duration
from fusion.data import FusionDataError, timeframe_delta, utc_timestamp
from fusion.metrics import calibration_error

ACTION_POSITION = {"long": 1.0, "buy": 1.0, "short": -1.0, "sell": -1.0}


@dataclass(frozen=True)
class LedgerSummary:
    signals: int
    resolved: int
    pending: int
    unresolvable: int
    traded: int
    hit_rate: float | None
    mean_net_return: float | None
    total_net_return: float | None
    calibration_error: float | None
    brier: float | None


@dataclass(frozen=True)
class Ledger:
    rows: pd.DataFrame
    summary: LedgerSummary


def _positions(signals: pd.DataFrame) -> np.ndarray:
    if "position" in signals.columns:
        return signals["position"].astype(np.float64).fillna(0.0).to_numpy()
    actions = signals["action"].astype(str).str.lower()
    return actions.map(ACTION_POSITION).fillna(0.0).to_numpy(np.float64)


def build_ledger(
    signals: pd.DataFrame,
    candles: pd.DataFrame,
    timeframe: str,
    cost_rate: float,
    asof: datetime,
    *,
    dead_zone_bps: float = 0.0,
) -> Ledger:
    """``signals``: columns ``ts``, ``horizon`` (a duration such as ``1d``), ``prob_up`` and
    ``position`` or ``action``; ``candles``: indexed by bar open time."""
    missing = [c for c in ("ts", "horizon", "prob_up") if c not in signals.columns]
    if missing:
        raise FusionDataError(f"signals: missing columns {', '.join(missing)}")
    bar = timeframe_delta(timeframe)
    t_asof = utc_timestamp(asof)
    sig = signals.copy()
    sig["ts"] = pd.to_datetime(sig["ts"], utc=True)
    sig = sig.sort_values("ts", kind="mergesort").reset_index(drop=True)
    horizon = pd.to_timedelta([parse_duration(str(h)) for h in sig["horizon"]])
    fill_at = sig["ts"]
    exit_at = sig["ts"] + horizon  # close time of the exit bar; its open is exit_at - bar
    opens = candles["open"]
    closes = candles["close"]
    fill = opens.reindex(pd.DatetimeIndex(fill_at)).to_numpy()
    exit_ = closes.reindex(pd.DatetimeIndex(exit_at - bar)).to_numpy()
    due = (exit_at <= t_asof).to_numpy()
    known = due & np.isfinite(fill) & np.isfinite(exit_)
    ret = np.where(known, exit_ / fill - 1.0, np.nan)
    w = _positions(sig)
    traded = known & (w != 0)
    with np.errstate(invalid="ignore"):
        hit = np.where(traded & (ret != 0), (np.sign(w) == np.sign(ret)).astype(float), np.nan)
    net = np.where(known, w * ret - np.abs(w) * cost_rate * 2.0, np.nan)
    status = np.where(known, "resolved", np.where(due, "unresolvable", "pending"))
    rows = pd.DataFrame(
        {
            "ts": sig["ts"],
            "horizon": sig["horizon"],
            "prob_up": sig["prob_up"].astype(np.float64),
            "position": w,
            "fill_price": np.where(known, fill, np.nan),
            "exit_price": np.where(known, exit_, np.nan),
            "realised_return": ret,
            "hit": hit,
            "net_return": net,
            "status": status,
        }
    )
    hits = rows["hit"]
    rows["running_hit_rate"] = hits.expanding().mean().where(hits.notna()).ffill()
    rows["cumulative_net_return"] = np.nancumsum(net)
    return Ledger(rows=rows, summary=summarise(rows, dead_zone_bps=dead_zone_bps))


def summarise(rows: pd.DataFrame, *, dead_zone_bps: float = 0.0) -> LedgerSummary:
    """The track record of ledger rows (columns ``status``, ``prob_up``, ``position``,
    ``realised_return``, ``hit``, ``net_return``): :func:`build_ledger`'s, or the store's
    resolved outcomes beside its pending signals."""
    status = rows["status"].to_numpy(str)
    known = status == "resolved"
    ret = rows["realised_return"].to_numpy(np.float64)
    w = rows["position"].to_numpy(np.float64)
    hit = rows["hit"].to_numpy(np.float64)
    net = rows["net_return"].to_numpy(np.float64)
    traded = known & (w != 0)
    dz = dead_zone_bps / 10_000.0
    moved = known & (np.abs(np.nan_to_num(ret)) > dz)
    up = np.where(moved, (ret > 0).astype(float), np.nan)
    p = rows["prob_up"].to_numpy(np.float64)
    ok = moved & np.isfinite(p)
    resolved_net = net[known]
    return LedgerSummary(
        signals=len(rows),
        resolved=int(known.sum()),
        pending=int((status == "pending").sum()),
        unresolvable=int((status == "unresolvable").sum()),
        traded=int(traded.sum()),
        hit_rate=float(np.nanmean(hit)) if np.isfinite(hit).any() else None,
        mean_net_return=float(resolved_net.mean()) if len(resolved_net) else None,
        total_net_return=float(resolved_net.sum()) if len(resolved_net) else None,
        calibration_error=calibration_error(p, up) if ok.any() else None,
        brier=float(np.mean((p[ok] - up[ok]) ** 2)) if ok.any() else None,
    )
