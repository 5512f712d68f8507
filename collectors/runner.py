"""Poll collectors safely: one source's failure never stops the others.

``run_once`` reads the source's cursor, collects, stores records and warnings, and only then
saves the new cursor, so a crash between the two re-fetches instead of losing items (writes
are idempotent). Five failures in a row (``http.breaker_threshold``) open the source's
circuit: it is skipped, with exponential backoff, while other sources carry on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collectors.base import Collector, CollectResult, SourceError
from core.records import IngestWarning
from core.settings import HttpSettings
from core.store import IngestResult, Store
from core.times import utcnow

log = logging.getLogger(__name__)

MAX_COOLDOWN_S = 6 * 3600.0


@dataclass(frozen=True)
class PollOutcome:
    source: str
    ok: bool
    skipped: bool = False
    ingest: IngestResult = field(default_factory=IngestResult)
    candles: int = 0
    metrics: int = 0
    warnings: int = 0
    error: str | None = None
    more: bool = False


def circuit_open(store: Store, name: str, now: datetime | None = None) -> datetime | None:
    """When the source's circuit closes again, or None if it is closed now."""
    until = store.sources.state(name).circuit_open_until
    now = now or utcnow()
    return until if until is not None and until > now else None


def store_result(store: Store, result: CollectResult) -> tuple[IngestResult, int, int, int]:
    ingest = store.documents.add(result.documents)
    candles = store.market.add_candles(list(result.candles))
    metrics = store.market.add_onchain(list(result.metrics))
    warnings = store.sources.add_warnings(result.warnings)
    return ingest, candles, metrics, warnings


def run_once(collector: Collector, store: Store, http: HttpSettings) -> PollOutcome:
    name = collector.name
    now = utcnow()
    if (until := circuit_open(store, name, now)) is not None:
        log.info("%s: circuit open until %s, skipped", name, until.isoformat())
        return PollOutcome(name, ok=False, skipped=True, error="circuit-open")
    state = store.sources.state(name)
    try:
        result = collector.collect(dict(state.cursor or {}))
    except SourceError as err:
        return _failed(store, name, http, f"{err.reason}: {err.detail}".strip(": "), err.reason)
    except Exception as err:  # a bug or an unforeseen input must not stop the other sources
        log.exception("%s: collector crashed", name)
        return _failed(store, name, http, f"crash: {type(err).__name__}: {err}", "crash")
    ingest, candles, metrics, warnings = store_result(store, result)
    store.sources.record_result(
        name,
        ok=True,
        items=ingest.new + candles + metrics,
        cursor=dict(result.cursor) if result.cursor is not None else None,
    )
    if warnings:
        log.warning("%s: %d warning(s), e.g. %s", name, warnings, result.warnings[0].reason)
    log.info(
        "%s: %d new, %d duplicate, %d merged documents; %d candles; %d metrics",
        name,
        ingest.new,
        ingest.duplicates,
        ingest.merged,
        candles,
        metrics,
    )
    return PollOutcome(
        name,
        ok=True,
        ingest=ingest,
        candles=candles,
        metrics=metrics,
        warnings=warnings,
        more=result.more,
    )


def _failed(store: Store, name: str, http: HttpSettings, error: str, reason: str) -> PollOutcome:
    state = store.sources.state(name)
    failures = state.consecutive_failures + 1
    until = None
    if failures >= http.breaker_threshold:
        cooldown = min(
            MAX_COOLDOWN_S, http.breaker_cooldown_s * 2 ** (failures - http.breaker_threshold)
        )
        until = utcnow() + timedelta(seconds=cooldown)
        log.warning("%s: %d failures in a row, circuit open for %.0fs", name, failures, cooldown)
    else:
        log.warning("%s: poll failed (%s)", name, error)
    store.sources.record_result(name, ok=False, error=error, circuit_open_until=until)
    store.sources.add_warnings([IngestWarning(source=name, reason=reason, detail=error[:2000])])
    return PollOutcome(name, ok=False, error=error)
