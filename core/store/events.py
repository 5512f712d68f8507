"""The durable event log: index updates and signals in the order they were published.

An event's ``id`` is its cursor: a subscriber that reconnects with the last id it saw gets
every later event of its topics and assets, none twice (``since``). The pipeline appends;
the API's stream broker and the webhook dispatcher read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from core.store.engine import Database
from core.store.tables import EventRow
from core.times import utcnow

#: Topics of the log: sentiment index updates and fusion signals.
TOPICS = ("sentiment", "signal")


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    asset: str
    at: datetime
    payload: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The event as streams and webhooks send it."""
        return {
            "id": self.id,
            "topic": self.topic,
            "asset": self.asset,
            "at": self.at,
            "data": self.payload,
        }

    def json(self) -> bytes:
        return orjson.dumps(self.body(), option=orjson.OPT_UTC_Z)


@dataclass(frozen=True)
class NewEvent:
    topic: str
    asset: str
    payload: dict[str, Any]


class EventRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, events: Sequence[NewEvent], *, at: datetime | None = None) -> list[Event]:
        """Append events in one transaction, in order; returns them with their ids."""
        if not events:
            return []
        at = at or utcnow()
        rows = [
            EventRow(topic=e.topic, asset=e.asset, at=at, payload=_plain(e.payload)) for e in events
        ]
        with self._db.session() as s, s.begin():
            for row in rows:
                s.add(row)
                s.flush()  # the id, in order
        return [_event(r) for r in rows]

    def since(
        self,
        cursor: int,
        *,
        topics: Iterable[str] | None = None,
        assets: Iterable[str] | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        """Events after ``cursor`` (of these topics and assets, all when None), oldest first."""
        with self._db.session() as s:
            q = select(EventRow).where(col(EventRow.id) > cursor)
            if topics is not None:
                q = q.where(col(EventRow.topic).in_(list(topics)))
            if assets is not None:
                q = q.where(col(EventRow.asset).in_(list(assets)))
            rows = s.exec(q.order_by(col(EventRow.id)).limit(limit)).all()
            return [_event(r) for r in rows]

    def last_id(self) -> int:
        value = self._db.one(sa_select(func.max(EventRow.id)))
        return int(value or 0)

    def recent(self, topic: str, limit: int = 2000) -> list[Event]:
        """The newest ``limit`` events of a topic, oldest first (a publisher's memory)."""
        with self._db.session() as s:
            rows = s.exec(
                select(EventRow)
                .where(EventRow.topic == topic)
                .order_by(col(EventRow.id).desc())
                .limit(limit)
            ).all()
            return [_event(r) for r in reversed(rows)]


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe (times as ISO strings), as it will be read back."""
    loaded: dict[str, Any] = orjson.loads(
        orjson.dumps(payload, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    )
    return loaded


def _event(row: EventRow) -> Event:
    return Event(
        id=int(row.id or 0), topic=row.topic, asset=row.asset, at=row.at, payload=row.payload
    )
