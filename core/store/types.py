"""The one column type the tables need beyond SQLAlchemy's own: UTC datetimes.

SQLite keeps datetimes without a zone and PostgreSQL converts them to the session's zone, so
every timestamp column goes through :class:`UTCDateTime`: aware UTC in, aware UTC out, on
both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; records carry UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_field(**column: Any) -> Any:
    """A SQLModel field stored as :class:`UTCDateTime` (``nullable``, ``primary_key``...)."""
    return Field(sa_column=Column(UTCDateTime(), **column))
