"""Query parameter types shared by the routes, so every route reads them the same way.

:data:`UtcTime` is the one type of every time parameter (``start``, ``end``, ``since``,
``until``, ``asof``). pydantic's own ``datetime`` parsing takes a bare number as Unix seconds
(``asof=20210101`` would be 1970-08-22) and years the index cannot step back from (0001), so
times go through :func:`core.times.parse_utc` instead: ISO 8601 only, a date meaning midnight
UTC, no zone meaning UTC, within ``MIN_TIME .. MAX_TIME``. Anything else is a 422 naming the
parameter. The OpenAPI schema still says ``string``, ``format: date-time``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from core.times import MAX_TIME, MIN_TIME, parse_utc

TIME_RULE = (
    "ISO 8601 date-time (no zone: UTC) or date (midnight UTC), between "
    f"{MIN_TIME.date().isoformat()} and {MAX_TIME.date().isoformat()}; numbers are refused"
)

UtcTime = Annotated[
    datetime,
    BeforeValidator(parse_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": TIME_RULE,
            "examples": ["2024-03-01T12:00:00Z", "2024-03-01"],
        }
    ),
]
"""A timezone-aware UTC ``datetime`` read from ISO 8601 text by :func:`core.times.parse_utc`."""
