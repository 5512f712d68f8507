"""Market data: exchange candles and daily on-chain values.

Both are append-only series keyed by what they measure and when; writing a stored key again
changes nothing, so a collector that re-reads an overlap (or an importer run twice) is
harmless. The ``last_*`` reads tell a collector where to continue; the counts let importers
report how many rows were new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from core.records import Candle, OnchainMetric
from core.store.engine import Database
from core.store.tables import CandleRow, OnchainRow


class MarketRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # candles ---------------------------------------------------------------------------

    def add_candles(self, candles: Sequence[Candle]) -> int:
        """Store candles; one already stored (same exchange, pair, timeframe, open time) is
        kept as it is. Returns the driver's count of rows written."""
        return self._db.insert_ignore(CandleRow, [c.model_dump() for c in candles])

    def candles(self, exchange: str, pair: str, timeframe: str) -> list[Candle]:
        """One series, oldest first."""
        with self._db.session() as s:
            rows = s.exec(
                select(CandleRow)
                .where(*_series(exchange, pair, timeframe))
                .order_by(col(CandleRow.ts))
            ).all()
            return [Candle.model_validate(r.model_dump()) for r in rows]

    def last_candle_ts(self, exchange: str, pair: str, timeframe: str) -> datetime | None:
        result: datetime | None = self._db.one(
            sa_select(func.max(CandleRow.ts)).where(*_series(exchange, pair, timeframe))
        )
        return result

    def count_candles(self, exchange: str, pair: str, timeframe: str) -> int:
        """Stored candles of one series (importers report new rows as a before/after count)."""
        return self._db.count(CandleRow, *_series(exchange, pair, timeframe))

    # on-chain values ---------------------------------------------------------------------

    def add_onchain(self, metrics: Sequence[OnchainMetric]) -> int:
        """Store daily values; one already stored (same asset, metric, day, source) is kept."""
        return self._db.insert_ignore(OnchainRow, [m.model_dump() for m in metrics])

    def last_onchain_day(self, asset: str, source: str) -> date | None:
        result: date | None = self._db.one(
            sa_select(func.max(OnchainRow.day)).where(*_onchain(asset, source))
        )
        return result

    def count_onchain(self, asset: str, source: str) -> int:
        """Stored on-chain values of one asset from one source."""
        return self._db.count(OnchainRow, *_onchain(asset, source))


def _series(exchange: str, pair: str, timeframe: str) -> tuple[ColumnElement[bool], ...]:
    return (
        col(CandleRow.exchange) == exchange,
        col(CandleRow.pair) == pair,
        col(CandleRow.timeframe) == timeframe,
    )


def _onchain(asset: str, source: str) -> tuple[ColumnElement[bool], ...]:
    return col(OnchainRow.asset) == asset, col(OnchainRow.source) == source
