"""Fan events out of the durable log to the open subscriptions, without one slowing another.

One task per app polls the log (every ``poll_s``, at once when :meth:`Broker.wake` is
called: the pipeline does after publishing) and hands each new event to every matching
subscriber's bounded queue. Nothing waits on a subscriber: one whose queue is full is
dropped (its transport closes; it reconnects with its cursor and loses nothing). Each event
is encoded once for all subscribers.

Resume without gaps or duplicates: a subscriber registers first (live events start queueing),
then reads the log after its cursor, then takes from its queue only what is newer than the
last event it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable

from sqlalchemy.exc import SQLAlchemyError

from core.metrics import SUBSCRIBERS, SUBSCRIBERS_DROPPED
from core.store.events import Event, EventRepository

log = logging.getLogger(__name__)


class Subscriber:
    """One open subscription: its topics and assets, its queue, whether it was dropped."""

    def __init__(
        self, topic: str, assets: frozenset[str] | None, bound: int, transport: str
    ) -> None:
        self.topic = topic
        self.assets = assets
        self.bound = bound
        self.transport = transport
        self.queue: deque[tuple[Event, bytes]] = deque()
        self.ready = asyncio.Event()
        self.gone = asyncio.Event()  # set when dropped: the transport stops even mid-send
        self.dropped = False

    def wants(self, event: Event) -> bool:
        return event.topic == self.topic and (self.assets is None or event.asset in self.assets)

    def offer(self, event: Event, encoded: bytes) -> bool:
        """Queue the event; False (and dropped) when the queue is at its bound."""
        if len(self.queue) >= self.bound:
            self.dropped = True
            self.ready.set()
            self.gone.set()
            return False
        self.queue.append((event, encoded))
        self.ready.set()
        return True


class Broker:
    def __init__(self, events: EventRepository, *, bound: int, poll_s: float = 0.1) -> None:
        self.events = events
        self.bound = bound
        self.poll_s = poll_s
        self._subs: set[Subscriber] = set()
        self._cursor: int | None = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        #: Called with each batch of events the broker read (the app's tests and webhooks).
        self.listeners: list[Callable[[list[Event]], None]] = []

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @property
    def cursor(self) -> int | None:
        """The newest event read from the log (the index version answer caches key on)."""
        return self._cursor

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:  # before the app serves, so no event can slip between start and first poll
            self._cursor = await asyncio.to_thread(self.events.last_id)
        except SQLAlchemyError as err:  # serve anyway; the first poll that reaches it reads it
            log.warning("event broker: the event log is unreachable for now: %s", err)
            self._cursor = None
        self._task = asyncio.create_task(self._run(), name="event-broker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in list(self._subs):
            self.unsubscribe(sub)

    def wake(self) -> None:
        """Poll now (callable from any thread: the pipeline calls it after publishing)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def subscribe(
        self, topic: str, assets: Iterable[str] | None, transport: str = "sse"
    ) -> Subscriber:
        sub = Subscriber(
            topic, frozenset(assets) if assets is not None else None, self.bound, transport
        )
        self._subs.add(sub)
        SUBSCRIBERS.labels(topic, transport).inc()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            SUBSCRIBERS.labels(sub.topic, sub.transport).dec()

    async def _run(self) -> None:
        wake = self._wake or asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.poll_s)
            wake.clear()
            try:
                await self._poll()
            except Exception:  # a database hiccup: the next poll tries again
                log.exception("event broker: reading the event log failed")
                await asyncio.sleep(1.0)

    async def _poll(self) -> None:
        if self._cursor is None:  # live streams start from now, not from the log's start
            self._cursor = await asyncio.to_thread(self.events.last_id)
        while True:
            batch = await asyncio.to_thread(self.events.since, self._cursor, limit=1000)
            if not batch:
                return
            self._cursor = batch[-1].id
            await self.fan_out(batch)
            if len(batch) < 1000:
                return

    async def fan_out(self, batch: list[Event]) -> None:
        """Hand read events to the subscribers, one event at a time with a turn of the loop
        between, so a subscriber that keeps up drains its queue while a long batch is
        handed out (a queue bound counts events a subscriber is behind, not batch sizes)."""
        for event in batch:
            await asyncio.sleep(0)
            encoded = sse_frame(event)
            for sub in [s for s in self._subs if s.wants(event)]:
                if not sub.offer(event, encoded):
                    log.warning(
                        "stream subscriber dropped: %d events behind (its queue bound)",
                        sub.bound,
                    )
                    SUBSCRIBERS_DROPPED.inc()
                    self.unsubscribe(sub)
        for listener in self.listeners:
            listener(batch)


def sse_frame(event: Event) -> bytes:
    """The event as one Server-Sent Events frame (its id is the resume cursor)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.topic.encode(), event.json())
