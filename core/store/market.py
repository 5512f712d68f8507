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

    def candle_rows(
        self, exchange: str, pair: str, timeframe: str, *, open_by: datetime | None = None
    ) -> list[tuple[datetime, float, float, float, float, float]]:
        """One series as plain ``(ts, open, high, low, close, volume_base)`` tuples, oldest
        first, for readers that build frames (fusion reads tens of thousands of bars; records
        would cost more than the query). ``open_by``: only bars that opened at or before it
        (the caller turns "closed by T" into "opened by T - timeframe")."""
        q = sa_select(
            col(CandleRow.ts),
            col(CandleRow.open),
            col(CandleRow.high),
            col(CandleRow.low),
            col(CandleRow.close),
            col(CandleRow.volume_base),
        ).where(*_series(exchange, pair, timeframe))
        if open_by is not None:
            q = q.where(col(CandleRow.ts) <= open_by)
        with self._db.session() as s:
            return [tuple(r) for r in s.execute(q.order_by(col(CandleRow.ts))).all()]

    def timeframes(self, exchange: str, pair: str) -> list[str]:
        """Timeframes with stored candles of one pair, sorted."""
        with self._db.session() as s:
            rows = s.exec(
                select(CandleRow.timeframe)
                .where(CandleRow.exchange == exchange, CandleRow.pair == pair)
                .distinct()
            ).all()
            return sorted(rows)

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

    def onchain_sources(self, asset: str) -> list[tuple[str, date, int]]:
        """Each source of an asset's on-chain values: ``(source, newest day, values)``."""
        with self._db.session() as s:
            rows = s.execute(
                sa_select(col(OnchainRow.source), func.max(OnchainRow.day), func.count())
                .where(col(OnchainRow.asset) == asset)
                .group_by(OnchainRow.source)
                .order_by(OnchainRow.source)
            ).all()
            return [(r[0], r[1], int(r[2])) for r in rows]

    def onchain_metrics(self, asset: str, source: str) -> list[str]:
        """Metric ids stored for an asset from one source, sorted."""
        with self._db.session() as s:
            rows = s.exec(
                select(OnchainRow.metric)
                .where(OnchainRow.asset == asset, OnchainRow.source == source)
                .distinct()
            ).all()
            return sorted(rows)

    def onchain_rows(
        self, asset: str, source: str, *, through: date | None = None
    ) -> list[tuple[date, str, float]]:
        """An asset's values from one source as ``(day, metric, value)`` tuples, by day then
        metric; ``through``: days up to and including it (publication lags are the caller's)."""
        q = sa_select(col(OnchainRow.day), col(OnchainRow.metric), col(OnchainRow.value)).where(
            *_onchain(asset, source)
        )
        if through is not None:
            q = q.where(col(OnchainRow.day) <= through)
        with self._db.session() as s:
            rows = s.execute(q.order_by(col(OnchainRow.day), col(OnchainRow.metric))).all()
            return [(r[0], r[1], float(r[2])) for r in rows]

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
