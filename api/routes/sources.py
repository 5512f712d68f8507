"""``GET /v1/sources``: each collector's health."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from api.deps import ClockDep, ServicesDep
from api.schemas import SourceHealth, SourceList
from core.store.tables import SourceStateRow

router = APIRouter(prefix="/v1", tags=["sources"])


@router.get("/sources", response_model=SourceList)
def list_sources(services: ServicesDep, clock: ClockDep) -> SourceList:
    """Last success, last error, items today and circuit state of every source that ran."""
    read = services.source_health or services.store.sources.states
    now = clock()
    return SourceList(sources=[_health(row, now) for row in read()])


def _health(row: SourceStateRow, now: datetime) -> SourceHealth:
    paused = row.circuit_open_until is not None and row.circuit_open_until > now
    if paused:
        state = "paused"
    elif row.consecutive_failures:
        state = "failing"
    elif row.last_success_at is not None:
        state = "ok"
    else:
        state = "never run"
    return SourceHealth(
        name=row.name,
        status=state,
        circuit="open" if paused else "closed",
        last_success_at=row.last_success_at,
        last_error_at=row.last_error_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        circuit_open_until=row.circuit_open_until,
        items_today=row.items_today if row.items_day == now.date() else 0,
    )
