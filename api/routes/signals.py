"""``GET /v1/signals`` and ``GET /v1/signals/{asset}``: fusion signals with their reliability.

A signal's reliability is what its forward ledger says so far: how many past signals of the
same asset and timeframe have resolved, the share of them that hit, and their mean return
after costs (``fusion/ledger.py`` writes the outcomes). Few outcomes make a weak record, and
the answer says how few.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ClockDep, KnownAsset, StoreDep
from api.params import UtcTime
from api.problems import invalid, problem_responses
from core.records import Signal
from core.store import Store

router = APIRouter(prefix="/v1", tags=["signals"])


class Reliability(BaseModel):
    resolved: int = Field(description="past signals of this asset and timeframe with an outcome")
    hit_rate: float | None = Field(description="share of resolved signals that hit (None: none)")
    mean_net_return: float | None = Field(description="mean return after fees and slippage")
    last_resolved_at: datetime | None


class SignalOut(BaseModel):
    asset: str
    timeframe: str
    horizon: str
    ts: datetime = Field(description="decision time: close of the newest bar known")
    asof: datetime | None
    prob_up: float | None = Field(description="calibrated P(up) over the horizon")
    action: str = Field(description="long, short, flat, hold or 'no model'")
    position: float
    model_version: str | None
    reasons: list[str]
    data_age_bars: float | None
    reliability: Reliability


class SignalList(BaseModel):
    signals: list[SignalOut]


class LedgerEntry(BaseModel):
    ts: datetime = Field(description="the signal's decision time")
    horizon: str
    position: float
    fill_price: float
    exit_price: float
    realised_return: float
    net_return: float = Field(description="after fees and slippage")
    hit: float | None
    resolved_at: datetime


class LedgerRecord(BaseModel):
    signals: int
    resolved: int
    pending: int
    unresolvable: int = Field(description="horizon passed but candles missing (for now)")
    traded: int
    hit_rate: float | None
    mean_net_return: float | None
    total_net_return: float | None
    calibration_error: float | None
    brier: float | None


class ForwardLedger(BaseModel):
    summary: LedgerRecord = Field(description="the live, out-of-sample track record so far")
    entries: list[LedgerEntry] = Field(description="resolved outcomes, newest first (<= 500)")


class ReportCard(BaseModel):
    run_id: int
    created_at: datetime
    chosen: str = Field(description="the feature set the study chose")
    gate_passed: bool = Field(description="whether the model passed the promotion gate")
    verdict: str
    card: dict[str, Any] = Field(description="the report card as recorded (JSON)")


class SignalHistory(BaseModel):
    asset: str
    current: list[SignalOut] = Field(description="the newest signal per timeframe")
    history: list[SignalOut] = Field(description="oldest first, within [start, end)")
    ledger: ForwardLedger = Field(description="the timeframe's forward ledger")
    report_card: ReportCard | None = Field(
        description="the newest recorded walk-forward study of the asset and timeframe"
    )


def forward_ledger(store: Store, asset: str, timeframe: str, now: datetime) -> ForwardLedger:
    from fusion.live import ledger_summary

    summary = ledger_summary(store, asset, timeframe, now)
    outcomes = store.signals.outcomes(asset, timeframe)[::-1][:500]
    return ForwardLedger(
        summary=LedgerRecord(**asdict(summary)),
        entries=[LedgerEntry(**o.model_dump(exclude={"asset", "timeframe"})) for o in outcomes],
    )


def report_card(store: Store, asset: str, timeframe: str) -> ReportCard | None:
    runs = store.studies.runs(asset, timeframe, limit=1)
    if not runs or runs[0].id is None:
        return None
    run = runs[0]
    try:
        card = json.loads(run.card_json)
    except ValueError:
        card = {}
    return ReportCard(
        run_id=run.id,
        created_at=run.created_at,
        chosen=run.chosen,
        gate_passed=run.gate_passed,
        verdict=run.verdict,
        card=card if isinstance(card, dict) else {"card": card},
    )


def reliability(store: Store, asset: str, timeframe: str) -> Reliability:
    outcomes = store.signals.outcomes(asset, timeframe)
    hits = [o.hit for o in outcomes if o.hit is not None]
    return Reliability(
        resolved=len(outcomes),
        hit_rate=sum(hits) / len(hits) if hits else None,
        mean_net_return=(sum(o.net_return for o in outcomes) / len(outcomes) if outcomes else None),
        last_resolved_at=max((o.resolved_at for o in outcomes), default=None),
    )


def signal_out(sig: Signal, rel: Reliability) -> SignalOut:
    return SignalOut(
        asset=sig.asset,
        timeframe=sig.timeframe,
        horizon=sig.horizon,
        ts=sig.ts,
        asof=sig.asof,
        prob_up=sig.prob_up,
        action=sig.action,
        position=sig.position,
        model_version=sig.model_version,
        reasons=list(sig.reasons),
        data_age_bars=sig.data_age_bars,
        reliability=rel,
    )


def current_signals(store: Store, asset: str | None = None) -> list[SignalOut]:
    """The newest signal of each asset and timeframe, each with its ledger's record."""
    return [
        signal_out(s, reliability(store, s.asset, s.timeframe)) for s in store.signals.latest(asset)
    ]


@router.get("/signals", response_model=SignalList)
def list_signals(store: StoreDep) -> SignalList:
    """The current signal of every asset and timeframe, with its reliability."""
    return SignalList(signals=current_signals(store))


@router.get(
    "/signals/{asset}",
    response_model=SignalHistory,
    responses=problem_responses(
        {404: "no stored document mentions the asset", 422: "a bad timeframe or time"}
    ),
)
def asset_signals(
    asset: KnownAsset,
    store: StoreDep,
    clock: ClockDep,
    timeframe: Annotated[str, Query(pattern=r"^\d{1,3}[mhdw]$")] = "1d",
    start: Annotated[UtcTime | None, Query(description="signals at or after")] = None,
    end: Annotated[UtcTime | None, Query(description="signals before")] = None,
) -> SignalHistory:
    """The current signals of one asset, its history on one timeframe (``[start, end)``), the
    timeframe's forward ledger (live outcomes, never a backtest) and its newest report card."""
    if start is not None and end is not None and end < start:
        raise invalid(("query", "end"), "must not be before start")
    rel = reliability(store, asset, timeframe)
    history = store.signals.history(asset, timeframe, start=start, end=end)
    return SignalHistory(
        asset=asset,
        current=current_signals(store, asset),
        history=[signal_out(s, rel) for s in history],
        ledger=forward_ledger(store, asset, timeframe, clock()),
        report_card=report_card(store, asset, timeframe),
    )
