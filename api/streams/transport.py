"""Sending a subscription: the log after the cursor first, then live events, over SSE or a
WebSocket, until the client leaves or falls behind its queue bound.

:class:`EventStream` is a raw ASGI response (not Starlette's ``StreamingResponse``): when its
subscriber is dropped it must stop at once even while a send is stuck on a client that does
not read, so sending runs in a task that can be cancelled, beside one that watches for the
client's disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.streams.broker import Broker, Subscriber, sse_frame
from core.store.events import Event

log = logging.getLogger(__name__)

#: A comment line sent when nothing happened for this long, so proxies keep the connection.
KEEPALIVE_S = 15.0
#: How long a closing handshake may take before the connection is just dropped.
CLOSE_TIMEOUT_S = 1.0


async def events_for(
    broker: Broker, sub: Subscriber, cursor: int | None, backlog: Callable[[int], list[Event]]
) -> AsyncIterator[tuple[Event | None, bytes | None]]:
    """The subscriber's events, oldest first: the log after ``cursor`` (none when None),
    then live ones newer than the last sent. Yields ``(None, None)`` after ``KEEPALIVE_S``
    of quiet; stops when the subscriber is dropped."""
    last = -1
    if cursor is not None:
        last = cursor
        while True:
            page = await asyncio.to_thread(backlog, last)
            for event in page:
                yield event, None
                last = event.id
            if len(page) < 1000:
                break
    while not sub.dropped:
        if not sub.queue:
            sub.ready.clear()
            try:  # asyncio.timeout, not wait_for: no task per wait (2,000 waiters per event)
                async with asyncio.timeout(KEEPALIVE_S):
                    await sub.ready.wait()
            except TimeoutError:
                yield None, None
                continue
        while sub.queue:
            event, encoded = sub.queue.popleft()
            if event.id > last:
                last = event.id
                yield event, encoded


class EventStream(Response):
    """``text/event-stream`` of a subscription (see the module docstring)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        broker: Broker,
        sub: Subscriber,
        cursor: int | None,
        backlog: Callable[[int], list[Event]],
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]  # no content-length: the stream has no end
        self.broker, self.sub, self.cursor, self.backlog = broker, sub, cursor, backlog

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = asyncio.create_task(self._send_all(send))
        listener = asyncio.create_task(_until_disconnect(receive))
        dropped = asyncio.create_task(self.sub.gone.wait())
        try:
            await asyncio.wait({sender, listener, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, listener, dropped):
                task.cancel()
            results = await asyncio.gather(sender, listener, dropped, return_exceptions=True)
            self.broker.unsubscribe(self.sub)
        _log_failure(results[0])
        if self.sub.dropped:
            # Left unfinished on purpose: the server closes the connection (the client
            # reconnects with its cursor). See quiet_unfinished_responses.
            return
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_all(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": b": subscribed\n\n", "more_body": True})
        async for event, encoded in events_for(self.broker, self.sub, self.cursor, self.backlog):
            if event is None:
                body = b": keep-alive\n\n"
            else:
                body = encoded if encoded is not None else sse_frame(event)
            await send({"type": "http.response.body", "body": body, "more_body": True})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def websocket_stream(
    ws: WebSocket,
    broker: Broker,
    sub: Subscriber,
    cursor: int | None,
    backlog: Callable[[int], list[Event]],
) -> None:
    """The same events as JSON text messages; a dropped subscriber's socket is closed with
    code 4008 ("too slow"), a client that leaves just ends it."""

    async def send_all() -> None:
        async for event, _ in events_for(broker, sub, cursor, backlog):
            if event is not None:
                await ws.send_text(event.json().decode())

    async def until_gone() -> None:
        try:
            while True:
                await ws.receive_text()  # the client has nothing to say; ignore it
        except WebSocketDisconnect:
            return

    sender = asyncio.create_task(send_all())
    listener = asyncio.create_task(until_gone())
    dropped = asyncio.create_task(sub.gone.wait())
    try:
        await asyncio.wait({sender, listener, dropped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener, dropped):
            task.cancel()
        results = await asyncio.gather(sender, listener, dropped, return_exceptions=True)
        broker.unsubscribe(sub)
    _log_failure(results[0])
    if not listener.done() or listener.cancelled():
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await ws.close(code=4008 if sub.dropped else 1000, reason="too slow")
        except (TimeoutError, RuntimeError):
            pass


class _UnfinishedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_unfinished_responses() -> None:
    """uvicorn logs an error for a response the app leaves unfinished, which is how a
    dropped subscriber's stream ends (the subscriber is logged as dropped here instead)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _UnfinishedFilter) for f in logger.filters):
        logger.addFilter(_UnfinishedFilter())


def _log_failure(result: object) -> None:
    """A stream that ended by an error (not by cancellation) is logged with its traceback."""
    if isinstance(result, Exception):
        log.error("event stream failed", exc_info=result)
