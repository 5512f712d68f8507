"""Live fusion signals and the forward ledger (their outcomes at the horizon).

A signal is keyed by asset, timeframe, horizon and decision time; the first one stored for a
bar stands, because a published signal must never change after the fact (the ledger would
otherwise grade a signal nobody saw). Outcomes are written once, when the horizon's close is
known, and reference their signal; the two together are the model's true out-of-sample
track record, kept apart from any backtest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_
from sqlmodel import col, select

from core.records import Signal, SignalOutcome
from core.store.engine import Database
from core.store.tables import SignalOutcomeRow, SignalRow

_KEY = ("asset", "timeframe", "horizon", "ts")


class SignalRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, signals: Sequence[Signal]) -> int:
        """Store signals; one already stored for the same bar is kept as it was. Returns how
        many were new (0: every bar already had its signal)."""
        return self._add_new(SignalRow, [_signal_row(s) for s in signals])

    def _add_new(
        self, table: type[SignalRow | SignalOutcomeRow], rows: list[dict[str, Any]]
    ) -> int:
        """Insert the rows whose key is not stored yet, in one transaction; count them (the
        drivers' row counts of ``ON CONFLICT DO NOTHING`` differ, so the keys are looked up)."""
        if not rows:
            return 0
        with self._db.session() as s, s.begin():
            new = [r for r in rows if s.get(table, tuple(r[k] for k in _KEY)) is None]
            if new:  # DO NOTHING still guards a writer that got in between
                s.execute(self._db.insert(table).on_conflict_do_nothing(), new)
        return len(new)

    def get(self, asset: str, timeframe: str, horizon: str, ts: datetime) -> Signal | None:
        with self._db.session() as s:
            row = s.get(SignalRow, (asset, timeframe, horizon, ts))
            return None if row is None else _signal(row)

    def history(
        self,
        asset: str,
        timeframe: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Signal]:
        """Signals of one asset and timeframe with ``start <= ts < end``, oldest first."""
        with self._db.session() as s:
            q = select(SignalRow).where(SignalRow.asset == asset, SignalRow.timeframe == timeframe)
            if start is not None:
                q = q.where(col(SignalRow.ts) >= start)
            if end is not None:
                q = q.where(col(SignalRow.ts) < end)
            rows = s.exec(q.order_by(col(SignalRow.ts), col(SignalRow.horizon))).all()
            return [_signal(r) for r in rows]

    def latest(self, asset: str | None = None) -> list[Signal]:
        """The newest signal of each asset and timeframe (of one asset when given)."""
        with self._db.session() as s:
            q = select(SignalRow)
            if asset is not None:
                q = q.where(SignalRow.asset == asset)
            rows = s.exec(
                q.order_by(
                    col(SignalRow.asset),
                    col(SignalRow.timeframe),
                    col(SignalRow.ts).desc(),
                    col(SignalRow.asof).desc(),
                )
            ).all()
        seen: set[tuple[str, str]] = set()
        out = []
        for r in rows:
            if (r.asset, r.timeframe) not in seen:
                seen.add((r.asset, r.timeframe))
                out.append(_signal(r))
        return out

    def unresolved(self, asset: str, timeframe: str) -> list[Signal]:
        """Signals without an outcome yet, oldest first: what the ledger update looks at."""
        with self._db.session() as s:
            q = (
                select(SignalRow)
                .outerjoin(SignalOutcomeRow, and_(*_same_signal()))
                .where(
                    SignalRow.asset == asset,
                    SignalRow.timeframe == timeframe,
                    col(SignalOutcomeRow.ts).is_(None),
                )
                .order_by(col(SignalRow.ts), col(SignalRow.horizon))
            )
            return [_signal(r) for r in s.exec(q).all()]

    def count(self) -> int:
        return self._db.count(SignalRow)

    # the ledger ------------------------------------------------------------------------

    def add_outcomes(self, outcomes: Sequence[SignalOutcome]) -> int:
        """Store outcomes; one already stored for a signal is kept (outcomes never change).
        Returns how many were new."""
        return self._add_new(SignalOutcomeRow, [o.model_dump() for o in outcomes])

    def outcomes(self, asset: str, timeframe: str) -> list[SignalOutcome]:
        """The resolved part of the ledger of one asset and timeframe, oldest signal first."""
        with self._db.session() as s:
            rows = s.exec(
                select(SignalOutcomeRow)
                .where(
                    SignalOutcomeRow.asset == asset,
                    SignalOutcomeRow.timeframe == timeframe,
                )
                .order_by(col(SignalOutcomeRow.ts), col(SignalOutcomeRow.horizon))
            ).all()
            return [SignalOutcome.model_validate(r.model_dump()) for r in rows]

    def count_outcomes(self) -> int:
        return self._db.count(SignalOutcomeRow)


def _same_signal() -> list[Any]:
    return [
        col(SignalOutcomeRow.asset) == col(SignalRow.asset),
        col(SignalOutcomeRow.timeframe) == col(SignalRow.timeframe),
        col(SignalOutcomeRow.horizon) == col(SignalRow.horizon),
        col(SignalOutcomeRow.ts) == col(SignalRow.ts),
    ]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _signal_row(sig: Signal) -> dict[str, Any]:
    """JSON columns hold no NaN (PostgreSQL refuses it): missing numbers become null or go."""
    row = sig.model_dump()
    row["asof"] = sig.asof or sig.ts
    row["prob_up"] = _finite(sig.prob_up)
    row["data_age_bars"] = _finite(sig.data_age_bars)
    row["reasons"] = list(sig.reasons)
    row["contributions"] = {
        k: float(v) for k, v in sig.contributions.items() if math.isfinite(float(v))
    }
    return row


def _signal(row: SignalRow) -> Signal:
    return Signal.model_validate(row.model_dump())
