"""Live signals from the store, the forward ledger, and the job ``cryptosense run`` calls.

:func:`make_signal` is what ``fusion signal`` and the service both do for one asset: read
the registry's newest entry, the data known now (through :class:`StoreProvider`, with the
sentiment version the model was trained on), measure drift against the model's training
window and the strategy's last 24 hours, and call :func:`fusion.signal.live_signal`, the
code the backtest runs. Without a promoted model the signal is "no model" with the reason;
either way it is stored. :func:`update_ledger` joins stored signals with what happened at
their horizon once it has passed. :class:`FusionJob` does both on a schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.records import RegisteredModel, Signal, SignalOutcome
from core.settings import parse_duration
from fusion.data import FusionDataError, MarketData, utc_timestamp
from fusion.drift import MIN_ROWS, DriftReport, drift_report
from fusion.features.builder import build_features
from fusion.gates import HOLD, NO_MODEL, GateDecision, trailing_return
from fusion.ledger import LedgerSummary, build_ledger, summarise
from fusion.model import FusionModel
from fusion.registry import ModelCache
from fusion.signal import LiveSignal, live_signal
from fusion.store_provider import StoreProvider, pair_assets

if TYPE_CHECKING:
    from core.settings import FusionDriftSettings, FusionSettings, PriceSettings
    from core.store import Store

log = logging.getLogger(__name__)


def covered_assets(store: Store, prices: PriceSettings, timeframe: str) -> list[str]:
    """Configured assets with stored candles of ``timeframe``: those that get a signal."""
    provider = StoreProvider(store, exchange=prices.exchange, pairs=pair_assets(prices.pairs))
    return [a for a in provider.assets() if timeframe in provider.timeframes(a)]


def make_signal(
    store: Store,
    asset: str,
    timeframe: str,
    now: datetime,
    *,
    prices: PriceSettings,
    fusion: FusionSettings,
    models: ModelCache | None = None,
) -> LiveSignal:
    """The signal of ``asset`` at ``now``, through both gates (not stored: see
    :func:`store_signal`)."""
    entry = store.studies.current(asset.upper(), timeframe)
    provider = StoreProvider.from_settings(
        store, prices, fusion, sentiment_version=entry.sentiment_version if entry else None
    )
    if entry is None:
        why = (
            f"no trained model: run `cryptosense fusion train --asset {asset.upper()} "
            f"--timeframe {timeframe}`",
        )
        return live_signal(
            provider, asset, timeframe, now, None, fusion, gate=GateDecision(False, why)
        )
    fusion = fusion.model_copy(update={"horizon": entry.horizon})
    model = (models or ModelCache()).get(entry)
    if not entry.promoted:
        gate = GateDecision(False, entry.reasons or ("not promoted",))
        return live_signal(provider, asset, timeframe, now, model, fusion, gate=gate)
    md = provider.market_data(asset, timeframe, asof=now)
    sig = live_signal(
        provider,
        asset,
        timeframe,
        now,
        model,
        fusion,
        gate=GateDecision(True),
        drift=live_drift(md, model, entry, fusion.drift),
        day_return=day_return(store.signals.history(md.asset, timeframe), md, now),
    )
    latest = store.scores.latest_version()
    if "sentiment" in entry.groups and latest != entry.sentiment_version and sig.action != HOLD:
        reason = (
            f"sentiment model changed since training ({entry.sentiment_version} -> {latest}): "
            "retrain with `cryptosense fusion train`"
        )
        sig = replace(sig, action=HOLD, position=0.0, reasons=(*sig.reasons, reason))
    return sig


def store_signal(store: Store, sig: LiveSignal) -> bool:
    """Store a signal; False when its bar already had one (the first one stands)."""
    return store.signals.add([sig.record()]) > 0


def live_drift(
    md: MarketData, model: FusionModel, entry: RegisteredModel, drift: FusionDriftSettings
) -> DriftReport | None:
    """The model's training window against the last ``drift.recent_days`` (None: too few
    rows on either side to compare)."""
    if entry.train_first is None or entry.train_last is None:
        return None
    x = build_features(md).values.reindex(columns=model.columns)
    train = x.loc[utc_timestamp(entry.train_first) : utc_timestamp(entry.train_last)]
    recent = x.loc[x.index > x.index[-1] - pd.Timedelta(days=drift.recent_days)]
    if len(train) < MIN_ROWS or len(recent) < MIN_ROWS:
        return None
    return drift_report(
        train,
        recent,
        drift,
        train_prob=model.predict_proba(train),
        recent_prob=model.predict_proba(recent),
    )


def day_return(signals: list[Signal], md: MarketData, now: datetime) -> float | None:
    """The live strategy's return over the 24 hours before ``now``: each bar that closed
    then earns the position of the newest signal made by its open (None: no signal yet)."""
    if not signals or md.candles.empty:
        return None
    pos = pd.Series(
        [s.position for s in signals], index=pd.DatetimeIndex([s.ts for s in signals])
    ).sort_index()
    pos = pos.loc[~pos.index.duplicated(keep="last")]
    c = md.candles
    held = pos.reindex(c.index, method="ffill").fillna(0.0)
    net = (held * (c["close"] / c["open"] - 1.0)).set_axis(c.index + md.bar)
    return trailing_return(net, now)


# --- the forward ledger ---------------------------------------------------------------------


def update_ledger(
    store: Store,
    asset: str,
    timeframe: str,
    now: datetime,
    *,
    prices: PriceSettings,
    fusion: FusionSettings,
) -> int:
    """Store the outcome of every signal whose horizon has closed by ``now``; returns how
    many were resolved. Signals whose candles are missing wait (a gap may be filled)."""
    pending = store.signals.unresolved(asset, timeframe)
    if not pending:
        return 0
    provider = StoreProvider.from_settings(store, prices, fusion)
    candles = provider.candles(asset, timeframe, asof=now)
    frame = pd.DataFrame(
        {
            "ts": [s.ts for s in pending],
            "horizon": [s.horizon for s in pending],
            "prob_up": [np.nan if s.prob_up is None else s.prob_up for s in pending],
            "position": [s.position for s in pending],
        }
    )
    ledger = build_ledger(
        frame,
        candles,
        timeframe,
        fusion.cost_rate,
        now,
        dead_zone_bps=fusion.dead_zone_bps,
    )
    resolved = ledger.rows.loc[ledger.rows["status"] == "resolved"]
    outcomes = [
        SignalOutcome(
            asset=asset.upper(),
            timeframe=timeframe,
            horizon=str(r["horizon"]),
            ts=pd.Timestamp(r["ts"]).to_pydatetime(),
            position=float(r["position"]),
            fill_price=float(r["fill_price"]),
            exit_price=float(r["exit_price"]),
            realised_return=float(r["realised_return"]),
            net_return=float(r["net_return"]),
            hit=None if pd.isna(r["hit"]) else float(r["hit"]),
            resolved_at=utc_timestamp(now).to_pydatetime(),
        )
        for _, r in resolved.iterrows()
    ]
    return store.signals.add_outcomes(outcomes) if outcomes else 0


def ledger_summary(
    store: Store, asset: str, timeframe: str, now: datetime, *, dead_zone_bps: float = 0.0
) -> LedgerSummary:
    """The forward track record of one asset and timeframe, from the stored outcomes; a
    signal whose horizon has passed by ``now`` without an outcome is unresolvable (its
    candles are missing) until they arrive."""
    signals = {(s.horizon, s.ts): s for s in store.signals.history(asset.upper(), timeframe)}
    outcomes = {(o.horizon, o.ts): o for o in store.signals.outcomes(asset.upper(), timeframe)}
    rows = []
    for key, s in signals.items():
        o = outcomes.get(key)
        due = s.ts + parse_duration(s.horizon) <= now
        rows.append(
            {
                "status": "resolved" if o else "unresolvable" if due else "pending",
                "prob_up": np.nan if s.prob_up is None else s.prob_up,
                "position": s.position,
                "realised_return": o.realised_return if o else np.nan,
                "hit": np.nan if o is None or o.hit is None else o.hit,
                "net_return": o.net_return if o else np.nan,
            }
        )
    columns = ["status", "prob_up", "position", "realised_return", "hit", "net_return"]
    return summarise(pd.DataFrame(rows, columns=columns), dead_zone_bps=dead_zone_bps)


# --- the service's job ----------------------------------------------------------------------


@dataclass
class JobReport:
    """What one step of :class:`FusionJob` did."""

    signals: list[LiveSignal] = field(default_factory=list)
    stored: int = 0
    resolved: int = 0
    errors: list[str] = field(default_factory=list)


class FusionJob:
    """The current signal of every covered asset, every ``fusion.signal_interval_s``, stored,
    and the forward ledger brought up to date. ``cryptosense run`` calls :meth:`step` from its
    pipeline loop; a problem with one asset is logged and does not stop the others."""

    def __init__(self, store: Store, prices: PriceSettings, fusion: FusionSettings) -> None:
        self.store = store
        self.prices = prices
        self.fusion = fusion
        self.timeframe = fusion.live_timeframe
        self.interval = timedelta(seconds=fusion.signal_interval_s)
        self.models = ModelCache()
        self._next_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._next_at is None or now >= self._next_at

    def step(self, now: datetime) -> JobReport | None:
        """Signal and update the ledger when due (None when not)."""
        if not self.due(now):
            return None
        self._next_at = now + self.interval
        report = JobReport()
        prices, fusion, tf = self.prices, self.fusion, self.timeframe
        for asset in covered_assets(self.store, prices, tf):
            try:
                sig = make_signal(
                    self.store, asset, tf, now, prices=prices, fusion=fusion, models=self.models
                )
                report.stored += store_signal(self.store, sig)
                report.signals.append(sig)
                report.resolved += update_ledger(
                    self.store, asset, tf, now, prices=prices, fusion=fusion
                )
            except FusionDataError as err:
                log.warning("fusion signal for %s %s: %s", asset, self.timeframe, err)
                report.errors.append(f"{asset}: {err}")
        for sig in report.signals:
            log.info(
                "fusion signal %s %s at %s: %s%s",
                sig.asset,
                sig.timeframe,
                sig.t.isoformat(),
                sig.action,
                "" if sig.action != NO_MODEL else f" ({'; '.join(sig.reasons)})",
            )
        return report
