"""Collector sources: each one's cursor and health, and the warnings recorded while ingesting.

The state row is what lets a collector resume after a crash (its cursor), what opens and
closes its circuit breaker (consecutive failures, ``circuit_open_until``), and what
``cryptosense sources`` and ``/v1/sources`` show. Warnings say why something from a source
was skipped, repaired or partial; they are read newest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from core.records import IngestWarning
from core.store.engine import Database
from core.store.tables import IngestWarningRow, SourceStateRow
from core.times import utcnow

#: Longest error message kept in a source's state (the rest is in the log).
_MAX_ERROR = 2000


class SourceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def state(self, name: str) -> SourceStateRow:
        """The stored state of one source; a blank one (never polled) when there is none."""
        with self._db.session() as s:
            row = s.get(SourceStateRow, name)
            return row if row is not None else SourceStateRow(name=name)

    def states(self) -> list[SourceStateRow]:
        """Every source with a stored state, by name."""
        with self._db.session() as s:
            return list(s.exec(select(SourceStateRow).order_by(col(SourceStateRow.name))).all())

    def save(self, state: SourceStateRow) -> None:
        with self._db.session() as s, s.begin():
            s.merge(state)

    def record_result(
        self,
        name: str,
        *,
        ok: bool,
        items: int = 0,
        error: str | None = None,
        cursor: dict[str, Any] | None = None,
        circuit_open_until: datetime | None = None,
    ) -> SourceStateRow:
        """Update a source's health after one poll."""
        now = utcnow()
        state = self.state(name)
        today = now.date()
        if state.items_day != today:
            state.items_day, state.items_today = today, 0
        state.items_today += items
        if cursor is not None:
            state.cursor = json.loads(json.dumps(cursor, default=str))
        if ok:
            state.last_success_at = now
            state.consecutive_failures = 0
            state.circuit_open_until = None
        else:
            state.last_error_at = now
            state.last_error = (error or "unknown error")[:_MAX_ERROR]
            state.consecutive_failures += 1
            state.circuit_open_until = circuit_open_until
        self.save(state)
        return state

    def add_warnings(self, warnings: Iterable[IngestWarning]) -> int:
        rows = [w.model_dump() for w in warnings]
        if not rows:
            return 0
        with self._db.session() as s, s.begin():
            s.execute(IngestWarningRow.__table__.insert(), rows)  # type: ignore[attr-defined]
        return len(rows)

    def warnings(self, source: str | None = None, limit: int = 100) -> list[IngestWarning]:
        """Recorded warnings, newest first (of one source when given)."""
        with self._db.session() as s:
            q = select(IngestWarningRow)
            if source is not None:
                q = q.where(IngestWarningRow.source == source)
            rows = s.exec(q.order_by(col(IngestWarningRow.id).desc()).limit(limit)).all()
            return [
                IngestWarning(source=r.source, reason=r.reason, detail=r.detail, at=r.at)
                for r in rows
            ]
