"""``GET /v1/sentiment/stream`` and ``GET /v1/signals/stream``: subscriptions over Server-Sent
Events, and the same paths as WebSockets.

Choose assets with ``?assets=BTC,ETH`` (all when absent). Resume with the last event id
seen, as the ``Last-Event-ID`` header (browsers' EventSource sends it by itself) or
``?cursor=``: every later event comes, none twice. Without either, the stream starts now.
A WebSocket authenticates like any request (``Authorization: Bearer``) or, for browsers,
which cannot set that header on a WebSocket, with ``?access_token=``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError

from api.auth import require_scope
from api.problems import invalid, problem_responses
from api.streams.broker import Broker
from api.streams.transport import EventStream, websocket_stream
from core.store.events import Event
from core.store.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["subscriptions"])

_SYMBOL = re.compile(r"^[A-Z0-9]{1,12}$")
_TOPICS = {"sentiment": "sentiment", "signals": "signal"}

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an endless `text/event-stream`: `id: <cursor>`, `event: sentiment` or "
        "`signal`, `data: <event JSON>`; comment lines keep the connection open",
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "example": 'id: 42\nevent: sentiment\ndata: {"id":42,"topic":"sentiment",'
                '"asset":"BTC","at":"2024-03-01T05:20:00Z","data":{"freq":"1h","ts":'
                '"2024-03-01T05:00:00Z","index":61.7,"value":0.31,"zscore":1.2,'
                '"n_docs":14,"partial":true,"previous_index":60.9}}\n\n',
            }
        },
    },
    **problem_responses({422: "a bad asset symbol, cursor or Last-Event-ID"}),
}


def _assets(raw: str | None) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    assets = sorted({a.strip().upper() for a in raw.split(",") if a.strip()})
    bad = [a for a in assets if not _SYMBOL.match(a)]
    if bad:
        raise invalid(("query", "assets"), f"not an asset symbol: {bad[0][:20]!r}")
    if len(assets) > 100:
        raise invalid(("query", "assets"), "at most 100 assets per subscription")
    return assets


def _cursor(cursor: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            raise invalid(("header", "last-event-id"), "must be an event id (a number)") from None
        if value < 0:
            raise invalid(("header", "last-event-id"), "must not be negative")
        return value
    return cursor


AssetsQuery = Annotated[
    str | None,
    Query(
        description="comma-separated asset symbols (all assets when absent)",
        examples=["BTC,ETH"],
        max_length=1300,
    ),
]
CursorQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**62,
        description="resume after this event id (Last-Event-ID wins when both are sent)",
    ),
]
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="resume after this event id", max_length=20),
]


def _broker(request: Request | WebSocket) -> Broker:
    broker: Broker = request.app.state.broker
    return broker


def _backlog(broker: Broker, topic: str, assets: list[str] | None) -> Any:
    def read(cursor: int) -> list[Event]:
        return broker.events.since(cursor, topics=[topic], assets=assets)

    return read


def _stream(topic: str, request: Request, assets: str | None, cursor: int | None) -> EventStream:
    broker = _broker(request)
    chosen = _assets(assets)
    sub = broker.subscribe(topic, chosen, "sse")
    return EventStream(broker, sub, cursor, _backlog(broker, topic, chosen))


@router.get(
    "/sentiment/stream",
    response_class=EventStream,
    status_code=200,
    responses=_SSE_DOC,
    dependencies=[Depends(require_scope("subscribe"))],
)
def sentiment_stream(
    request: Request,
    assets: AssetsQuery = None,
    cursor: CursorQuery = None,
    last_event_id: LastEventId = None,
) -> EventStream:
    """Index updates of the chosen assets as they are published (hourly, all families: the
    newest bucket each time its value changes), with the previous values, so a consumer sees
    a crossing without keeping state."""
    return _stream("sentiment", request, assets, _cursor(cursor, last_event_id))


@router.get(
    "/signals/stream",
    response_class=EventStream,
    status_code=200,
    responses=_SSE_DOC,
    dependencies=[Depends(require_scope("subscribe"))],
)
def signals_stream(
    request: Request,
    assets: AssetsQuery = None,
    cursor: CursorQuery = None,
    last_event_id: LastEventId = None,
) -> EventStream:
    """Fusion signals of the chosen assets as they are stored, with the previous action."""
    return _stream("signal", request, assets, _cursor(cursor, last_event_id))


async def _ws_key(ws: WebSocket, scope: str) -> ApiKey | None:
    """The WebSocket's key (header or ``access_token``); closes it (4401/4403, after
    accepting, so the client can read why) when missing, unknown, revoked or without
    ``scope``."""
    header = ws.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    token = token or ws.query_params.get("access_token", "")
    key = ws.app.state.services.key_cache.lookup(token) if token else None
    if key is None or key.revoked_at is not None or not key.allows(scope):
        await ws.accept()
    if key is None or key.revoked_at is not None:
        await ws.close(code=4401, reason="an API key is required (Authorization: Bearer)")
        return None
    if not key.allows(scope):
        await ws.close(code=4403, reason=f"API key {key.id} lacks the {scope!r} scope")
        return None
    return key


async def _ws(topic: str, ws: WebSocket) -> None:
    if await _ws_key(ws, "subscribe") is None:
        return
    try:
        chosen = _assets(ws.query_params.get("assets"))
        raw = ws.headers.get("last-event-id") or ws.query_params.get("cursor")
        cursor = _cursor(None, raw)
    except RequestValidationError as err:
        await ws.accept()
        await ws.close(code=4422, reason=str(err.errors()[0]["msg"])[:120])
        return
    await ws.accept()
    broker = _broker(ws)
    sub = broker.subscribe(topic, chosen, "websocket")
    await websocket_stream(ws, broker, sub, cursor, _backlog(broker, topic, chosen))


@router.websocket("/sentiment/stream")
async def sentiment_ws(ws: WebSocket) -> None:
    await _ws("sentiment", ws)


@router.websocket("/signals/stream")
async def signals_ws(ws: WebSocket) -> None:
    await _ws("signal", ws)
