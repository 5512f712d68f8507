"""The FastAPI application factory.

``create_app(settings)`` builds the store and the other services once, in the app's lifespan;
``create_app(settings, services=...)`` uses the caller's (the service loop shares its store,
tests pass a temporary one). Every error is JSON: FastAPI's ``{"detail": ...}`` for 404 and
422, the same shape for a database outage (503) and for anything unexpected (500, logged).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from api.deps import Services
from api.routes import documents, health, search, sentiment, sources
from core.settings import Settings

__all__ = ["Services", "create_app"]

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("cryptosense")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """The API over ``settings``; services are built at start-up unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = Services.from_settings(settings) if owned else services
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    app = FastAPI(
        title="Cryptosense",
        version=_version(),
        description="Crypto sentiment indices (as-of, no look-ahead), the scored documents "
        "behind them, semantic search over them (as-of too), and source health.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET"],
            allow_headers=["*"],
        )
    for module in (sentiment, documents, search, sources, health):
        app.include_router(module.router)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=503, content={"detail": "database unavailable, try again"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal server error"})
