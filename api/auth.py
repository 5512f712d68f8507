"""API keys on every route but health, readiness, metrics and the dashboard's static files.

A route declares the scope it needs: ``dependencies=[Depends(require_scope("read"))]`` or a
parameter ``key: Annotated[ApiKey, Depends(require_scope("chat"))]``. The key comes as
``Authorization: Bearer cs_...``; no key or an unknown/revoked one is a 401 problem, a key
without the scope a 403 problem, both with ``WWW-Authenticate`` (RFC 6750). ``admin``
implies every scope.

Verified keys are remembered for :data:`CACHE_S` seconds (the hash lookup is a database
round trip on every request otherwise), so a revoked key stops working within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.deps import Services
from api.problems import problem_responses
from core.store.keys import ApiKey, KeyRepository

#: How long a verified (or refused) key is remembered before it is looked up again.
CACHE_S = 5.0
REALM = 'Bearer realm="cryptosense"'

_bearer = HTTPBearer(
    auto_error=False,
    description="an API key: `cryptosense keys create --scopes read`, or the admin key "
    "the first `cryptosense run` writes to <data dir>/admin.key",
)

#: OpenAPI responses of every route behind a key.
AUTH_RESPONSES = problem_responses(
    {
        401: "no API key, or one that is unknown or revoked (header WWW-Authenticate)",
        403: "the key lacks the scope this route needs",
    }
)


_MISSING = object()


class KeyCache:
    """Key lookups by the key itself, remembered for a few seconds."""

    def __init__(self, keys: KeyRepository, ttl_s: float = CACHE_S) -> None:
        self._keys = keys
        self._ttl = ttl_s
        self._seen: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> ApiKey | object | None:
        """The remembered answer for ``key``, or :data:`_MISSING` (look it up)."""
        hit = self._seen.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return _MISSING

    def lookup(self, key: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._seen.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._keys.lookup(key)
        with self._lock:
            if len(self._seen) > 10_000:  # guessed keys must not grow the cache without end
                self._seen.clear()
            self._seen[key] = (now + self._ttl, found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": REALM})


async def authenticate(
    request: Request,
    services: Services,
    credentials: HTTPAuthorizationCredentials | None,
) -> ApiKey:
    """The caller's key (401 without a valid one); kept on ``request.state.api_key``."""
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    remembered = services.key_cache.cached(token)
    key = (
        await run_in_threadpool(services.key_cache.lookup, token)
        if remembered is _MISSING
        else cast(ApiKey | None, remembered)
    )
    if key is None:
        raise _unauthorized("unknown API key")
    if key.revoked_at is not None:
        raise _unauthorized(f"API key {key.id} was revoked")
    request.state.api_key = key
    return key


def require_scope(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency: the caller's key, which must carry ``scope`` (or ``admin``), within its
    rate limit. One dependency over the bearer scheme (which documents the security in
    OpenAPI): every nested one costs each request."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        return await authorize(request, request.app.state.services, credentials, scope)

    check.__name__ = f"require_{scope}"
    return check


async def authorize(
    request: Request,
    services: Services,
    credentials: HTTPAuthorizationCredentials | None,
    scope: str,
) -> ApiKey:
    """:func:`authenticate`, then the scope (403) and the key's rate limit (429)."""
    key = await authenticate(request, services, credentials)
    if not key.allows(scope):
        raise HTTPException(
            403,
            f"API key {key.id} lacks the {scope!r} scope (it has: {', '.join(key.scopes)})",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        )
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(key)
    return key


ReadKey = Annotated[ApiKey, Depends(require_scope("read"))]
SubscribeKey = Annotated[ApiKey, Depends(require_scope("subscribe"))]
ChatKey = Annotated[ApiKey, Depends(require_scope("chat"))]
AdminKey = Annotated[ApiKey, Depends(require_scope("admin"))]
