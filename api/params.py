"""Query parameter types shared by the routes, so every route reads them the same way.

:data:`UtcTime` is the one type of every time parameter (``start``, ``end``, ``since``,
``until``, ``asof``). pydantic's own ``datetime`` parsing takes a bare number as Unix seconds
(``asof=20210101`` would be 1970-08-22) and years the index cannot step back from (0001), so
times go through :func:`core.times.parse_utc` instead: ISO 8601 only, a date meaning midnight
UTC, no zone meaning UTC, within ``MIN_TIME .. MAX_TIME``. Anything else is a 422 naming the
parameter. The OpenAPI schema says ``string``, ``format: date-time``, with a pattern for the
supported years.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, WithJsonSchema
from starlette.requests import HTTPConnection

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
            "pattern": r"^(19[7-9]\d|[2-8]\d{3})-",  # the supported years, 1970 .. 8999
            "description": TIME_RULE,
            "examples": ["2024-03-01T12:00:00Z", "2024-03-01"],
        }
    ),
]
"""A timezone-aware UTC ``datetime`` read from ISO 8601 text by :func:`core.times.parse_utc`."""


async def no_unknown_query(request: HTTPConnection) -> None:
    """Refuse query parameters the route does not take (a typo such as ``?asset=`` for
    ``?assets=`` would otherwise be ignored without a word): a 422 naming it and the known
    ones. Installed for every route by :func:`api.app.create_app`."""
    if request.scope["type"] != "http" or not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = frozenset(_query_names(dependant))
        _QUERY_NAMES[id(route)] = known
    for name in request.query_params:
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name[:60]),
                        "msg": f"unknown query parameter (this route takes: {takes})",
                        "type": "value_error",
                    }
                ]
            )


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
