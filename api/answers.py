"""A short-lived cache of whole answers, for the hot reads (``/v1/sentiment``).

An answer is kept under its route, parameters, the served model and the index version (the
newest event in the event log: the pipeline publishes one whenever an asset's newest point
changes), so a published update or a model switch is a new key and is computed at once.
Within a version an answer is fresh for ``api.cache_s`` seconds; after that the old answer
is still served while one refresh runs (stale-while-revalidate), so callers never queue
behind a recomputation, and a key computed for the first time is computed once however many
callers ask at the same moment (single flight). A cached answer skips everything but the key
check: the database, the index computation and the JSON encoding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool


class AnswerCache:
    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._flights: dict[Hashable, asyncio.Future[bytes]] = {}

    async def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The answer for ``key``; ``compute`` (run in a worker thread) makes it when needed.
        Exceptions from ``compute`` reach the caller and are not cached."""
        if self.ttl_s <= 0:
            return await run_in_threadpool(compute)
        hit = self._entries.get(key)
        if hit is not None:
            if hit[0] < time.monotonic() and key not in self._flights:
                self._start(key, compute).add_done_callback(_ignore_failure)
            return hit[1]
        flight = self._flights.get(key)
        if flight is None:
            flight = self._start(key, compute)
        return await asyncio.shield(flight)

    def _start(self, key: Hashable, compute: Callable[[], bytes]) -> asyncio.Future[bytes]:
        async def run() -> bytes:
            try:
                body = await run_in_threadpool(compute)
                self._put(key, body)
                return body
            finally:
                self._flights.pop(key, None)

        task = asyncio.ensure_future(run())
        self._flights[key] = task
        return task

    def _put(self, key: Hashable, body: bytes) -> None:
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl_s, body)


def _ignore_failure(task: asyncio.Future[bytes]) -> None:
    """A background refresh that failed leaves the old answer in place (the next caller
    after it expires starts another)."""
    if not task.cancelled():
        task.exception()
