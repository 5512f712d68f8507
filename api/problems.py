"""Every error answer as RFC 9457 problem details, and the OpenAPI that documents them.

Whatever goes wrong (a refused parameter, an unknown asset or path, the database or the
vector store unavailable, a bug) the client gets the same shape, ``application/problem+json``::

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "query parameter 'start': '20210101' is a number, not a time; ...",
     "instance": "/v1/sentiment/BTC",
     "errors": [{"loc": ["query", "start"], "msg": "...", "type": "value_error"}]}

``errors`` comes with every 422 only. ``detail`` is always one line, so a client that only
ever read FastAPI's ``{"detail": "..."}`` keeps working for 404, 503 and 500. Unexpected
exceptions are logged here with their traceback and answered without it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from api.schemas import FieldError, Problem, ValidationProblem
from core.assets import UnknownAssetError
from core.times import TimeParseError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
_SCHEMA_REF = "#/components/schemas/{model}"
# RFC 9110's name; Python before 3.13 still says "Unprocessable Entity".
_TITLES = {422: "Unprocessable Content"}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """The answer for one problem; ``errors`` makes it a :class:`ValidationProblem`."""
    fields: dict[str, Any] = {
        "title": _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body = (
        ValidationProblem(**fields, errors=list(errors))
        if errors is not None
        else Problem(**fields)
    )
    return ProblemResponse(
        status_code=status,
        content=body.model_dump(mode="json"),
        headers=dict(headers) if headers else None,
    )


def invalid(loc: tuple[str, ...], msg: str) -> RequestValidationError:
    """A 422 for a check a route makes itself (e.g. ``end`` before ``start``), shaped like
    the ones FastAPI raises, so every 422 carries ``errors``."""
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


def _field_errors(raw: Sequence[Any]) -> list[FieldError]:
    out = []
    for e in raw:
        msg = str(e.get("msg", "invalid"))
        # pydantic prefixes the message of a ValueError raised by a validator; the message
        # itself (e.g. parse_utc's) already says what is wrong.
        msg = msg.removeprefix("Value error, ")
        out.append(
            FieldError(
                loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                msg=msg,
                type=str(e.get("type", "value_error")),
            )
        )
    return out


def _where(loc: Sequence[str | int]) -> str:
    if len(loc) >= 2 and loc[0] in ("query", "path", "header", "cookie"):
        return f"{loc[0]} parameter {'.'.join(str(p) for p in loc[1:])!r}"
    return ".".join(str(p) for p in loc) or "request"


async def _validation(request: Request, exc: Exception) -> ProblemResponse:
    errors = _field_errors(cast(RequestValidationError, exc).errors())
    first = errors[0] if errors else FieldError(loc=[], msg="invalid request", type="value_error")
    detail = f"{_where(first.loc)}: {first.msg}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more, see errors)"
    return problem(request, 422, detail, errors=errors)


async def _http(request: Request, exc: Exception) -> ProblemResponse:
    exc = cast(StarletteHTTPException, exc)  # registered for it alone
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if status == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no such path {request.url.path} (see /docs)"
    if status == 400 and detail == "There was an error parsing the body":
        # FastAPI's answer to a body that is not UTF-8 JSON: a 422 like every other bad body
        field = FieldError(
            loc=["body"], msg="not a JSON document (or not UTF-8)", type="json_invalid"
        )
        return problem(request, 422, "body: not a JSON document (or not UTF-8)", errors=[field])
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = _allowed_methods(request)
        if allowed:  # every route at this path, not only the first one that matched
            headers["Allow"] = ", ".join(allowed)
        if detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
            detail = f"{request.method} is not allowed on {request.url.path}"
            detail += f"; allowed: {', '.join(allowed)}" if allowed else " (see /docs)"
    if status == 422:
        field = FieldError(loc=[], msg=detail, type="value_error")
        return problem(request, 422, detail, errors=[field], headers=headers)
    return problem(request, status, detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """The documented methods of the request's path (every route at it, not only the first
    one the router tried)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {m.upper() for m in item}
    return sorted(methods)


async def _unknown_asset(request: Request, exc: Exception) -> ProblemResponse:
    return problem(request, 404, f"{exc} (see /v1/assets)")


async def _bad_time(request: Request, exc: Exception) -> ProblemResponse:
    field = FieldError(loc=[], msg=str(exc), type="value_error")
    return problem(request, 422, str(exc), errors=[field])


async def _database_unavailable(request: Request, exc: Exception) -> ProblemResponse:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return problem(request, 503, "database unavailable, try again")


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "internal server error")


def install(app: FastAPI) -> None:
    """Answer every error as a problem and document the problem schemas in OpenAPI."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(UnknownAssetError, _unknown_asset)
    app.add_exception_handler(TimeParseError, _bad_time)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, ValidationProblem):
                body = model.model_json_schema(ref_template=_SCHEMA_REF)
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: each status answered with a problem (422 with
    ``errors``), under ``application/problem+json``."""
    return {
        status: {
            "description": text,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {
                        "$ref": _SCHEMA_REF.format(
                            model=(ValidationProblem if status == 422 else Problem).__name__
                        )
                    }
                }
            },
        }
        for status, text in descriptions.items()
    }


#: Problems any route may answer with, merged into every route's documented responses.
COMMON_RESPONSES = problem_responses(
    {
        500: "an unexpected error (logged with its traceback on the server, not sent)",
        503: "the database is unreachable; try again",
    }
)
