"""The project's one way to read and make UTC times.

Everything inside the project speaks timezone-aware UTC ``datetime``. Text from users (CLI
flags, query parameters, TOML) becomes one through :func:`parse_utc`, which accepts ISO 8601
only: a bare number is refused instead of being read as Unix seconds, and times outside the
range the store and the index can compute with are refused instead of overflowing later.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from core.errors import UserFacingError

#: The range of times the project accepts from users. Bucket arithmetic and the EWMA warm-up
#: step back up to a few years from a time, so the lower bound leaves room below it.
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)

_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")


class TimeParseError(UserFacingError, ValueError):
    """A time given by a user that is not an ISO 8601 date or date-time in range."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_utc(value: object) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (naive = UTC, ``Z`` allowed) as UTC.

    Raises :class:`TimeParseError` with a message fit to show a user for anything else,
    including bare numbers (``20210101`` is not a date here) and times outside
    :data:`MIN_TIME` .. :data:`MAX_TIME`.
    """
    if isinstance(value, datetime):
        parsed = ensure_utc(value)
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif not isinstance(value, str):
        raise TimeParseError(
            f"a {type(value).__name__} is not a time; use an ISO 8601 string, "
            "e.g. 2024-03-05T12:00:00Z"
        )
    else:
        text = value.strip()
        if not text:
            raise TimeParseError("an empty time; use ISO 8601, e.g. 2024-03-05T12:00:00Z")
        if _NUMERIC.match(text):
            raise TimeParseError(
                f"{text!r} is a number, not a time; use ISO 8601, e.g. 2024-03-05 or "
                "2024-03-05T12:00:00Z"
            )
        try:
            parsed = ensure_utc(datetime.fromisoformat(text))
        except (ValueError, OverflowError):
            raise TimeParseError(
                f"{text!r} is not an ISO 8601 date or time, e.g. 2024-03-05T12:00:00Z"
            ) from None
    if not MIN_TIME <= parsed <= MAX_TIME:
        raise TimeParseError(
            f"{parsed.isoformat()} is outside the supported range "
            f"{MIN_TIME.date().isoformat()} .. {MAX_TIME.date().isoformat()}"
        )
    return parsed
