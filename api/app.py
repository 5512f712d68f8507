"""The FastAPI application factory.

``create_app(settings)`` builds the store and the other services once, in the app's lifespan;
``create_app(settings, services=...)`` uses the caller's (the service loop shares its store,
tests pass a temporary one). This is the one place that reads the whole settings tree: each
component gets its own section. Every error is an RFC 9457 problem (:mod:`api.problems`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import problems
from api.answers import AnswerCache
from api.auth import AUTH_RESPONSES, require_scope
from api.deps import Services
from api.limits import LIMIT_RESPONSES, BodyLimit, RateLimiter
from api.mcp import http as mcp_http
from api.metrics import RequestMetrics, app_registry
from api.metrics import router as metrics_router
from api.params import no_unknown_query
from api.routes import (
    briefings,
    chat,
    completions,
    dashboard,
    documents,
    health,
    market,
    queries,
    search,
    sentiment,
    signals,
    sources,
    streams,
    webhooks,
)
from api.streams.broker import Broker
from api.streams.transport import quiet_unfinished_responses
from api.webhooks.dispatcher import Dispatcher
from core.settings import ApiSettings, Settings

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
        app.state.metrics_registry = app_registry(lambda: getattr(app.state, "services", None))
        broker = app.state.broker = Broker(
            app.state.services.store.events, bound=settings.api.subscriber_queue
        )
        dispatcher = app.state.dispatcher = Dispatcher(app.state.services.store, settings.webhooks)
        broker.listeners.append(lambda _events: dispatcher.wake())
        await broker.start()
        dispatcher.start()
        quiet_unfinished_responses()
        try:
            async with mcp_server.session_manager.run():
                yield
        finally:
            await broker.stop()
            await asyncio.to_thread(dispatcher.stop)
            if owned:
                app.state.services.close()

    app = FastAPI(
        title="Cryptosense",
        version=_version(),
        description="Crypto sentiment indices (as-of, no look-ahead), the scored documents "
        "behind them, semantic search over them (as-of too), and source health.",
        lifespan=lifespan,
        responses=problems.COMMON_RESPONSES,
        dependencies=[Depends(no_unknown_query)],
    )
    app.state.settings = settings
    app.router.redirect_slashes = False  # "/v1/sentiment/" is no asset: a 404, not a redirect
    app.state.limiter = RateLimiter(settings.api.rate_per_s, settings.api.rate_burst)
    app.state.answers = AnswerCache(settings.api.cache_s)
    _allow_origins(app, settings.api)
    keyed = {
        **AUTH_RESPONSES,
        **LIMIT_RESPONSES,
        **problems.problem_responses({422: "a parameter or body that does not validate"}),
    }
    app.include_router(streams.router, responses=keyed)  # before /v1/sentiment/{asset}
    app.include_router(webhooks.router, responses=keyed)
    for module in (sentiment, documents, search, sources, market, signals, briefings, queries):
        app.include_router(
            module.router, dependencies=[Depends(require_scope("read"))], responses=keyed
        )
    for module in (chat, completions):
        app.include_router(
            module.router, dependencies=[Depends(require_scope("chat"))], responses=keyed
        )
    app.include_router(health.router)  # no key: probes and monitors
    app.include_router(metrics_router)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(RequestMetrics)
    dashboard.install(app)  # no key: the page and its static files hold no data
    mcp_server = mcp_http.install(app, settings)  # /mcp, behind the same keys
    problems.install(app)
    return app


def _allow_origins(app: FastAPI, api: ApiSettings) -> None:
    if api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(api.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        )
