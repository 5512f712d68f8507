"""Per-key rate limits (a token bucket per API key) and the request body size limit.

Each key may make ``api.rate_burst`` requests at once and ``api.rate_per_s`` per second
sustained; beyond that it gets a 429 problem with ``Retry-After`` (whole seconds until a
token is back). The check runs in :func:`api.auth.require_scope`, after the key is known.

A body larger than ``api.max_body_bytes`` is a 413 problem: at once when ``Content-Length``
says so, else as soon as the streamed body passes the limit (so a chunked upload cannot
make the server buffer more than that).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem, problem_responses
from core.store.keys import ApiKey

LIMIT_RESPONSES = problem_responses(
    {429: "the key's rate limit is spent; header Retry-After says how many seconds to wait"}
)


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` spends one or says how long
    until one is back."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """0.0 when a token was spent, else the seconds until one will be there."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per key id, thread-safe (sync routes run in a thread pool)."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def wait_s(self, key_id: str) -> float:
        """Spend a token of ``key_id``: 0.0, or the seconds until the next one."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = TokenBucket(self.rate, self.burst, now)
            return bucket.take(now)

    def check(self, key: ApiKey) -> None:
        """Raise a 429 (with ``Retry-After``) when ``key`` has no token left."""
        wait = self.wait_s(key.id)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"rate limit of API key {key.id} reached ({self.rate:g} requests/s, bursts "
                f"of {self.burst}); retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )


class BodyLimit:
    """ASGI middleware: request bodies larger than ``max_bytes`` are a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if declared is None and scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        seen = 0
        limit = self.max_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(Request(scope), 413, _too_large(self.max_bytes))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
