"""``GET /metrics`` (Prometheus text format, no key) and the middleware that times requests.

Requests are counted and timed by route template (``/v1/sentiment/{asset}``, not each
asset), so the number of series stays bounded; a path no route matches counts as
``unmatched``. The index lag is read from the store at scrape time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Services
from core.metrics import HTTP_REQUESTS, HTTP_SECONDS
from core.records import Frequency

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                HTTP_SECONDS.labels(scope["method"], template).observe(time.perf_counter() - start)
                HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            await send(message)

        await self.app(scope, receive, send_status)


class StoreCollector(Collector):
    """Figures read from the store when scraped: how far the index lags behind now."""

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self._services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        services = self._services()
        if services is None:
            return
        lag = GaugeMetricFamily(
            "cryptosense_index_lag_seconds",
            "seconds between now and the end of the newest stored hourly index bucket",
        )
        try:
            version = services.model_version()
            last = (
                None if version is None else services.store.index.last_ts(version, Frequency.HOUR)
            )
        except SQLAlchemyError as err:
            log.warning("metrics: index lag unavailable: %s", err)
            return
        if last is not None:
            lag.add_metric([], (services.clock() - (last + timedelta(hours=1))).total_seconds())
            yield lag


def app_registry(services: Callable[[], Services | None]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(services))
    return registry


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latencies by route, items ingested per source, model
    latency, index lag, stream subscribers, webhook deliveries. No key needed."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
