"""HTTP fetching shared by every collector: timeouts, a byte cap, conditional GET, retries
with exponential backoff and jitter, ``Retry-After``, and a per-host politeness limit."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from collectors.base import SourceError
from core.settings import HttpSettings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 120.0


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    not_modified: bool = False
    truncated: bool = False

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def content_charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type value, unquoted; None when it has none."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` (seconds or HTTP date) header."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_dt = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - now_dt).total_seconds())


class HostRateLimiter:
    """At most one request per ``interval_s`` to each host (politeness for article pages)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, url: str) -> float:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(host, now))
            self._next[host] = at + self.interval_s
        delay = at - now
        if delay > 0:
            time.sleep(delay)
        return delay


@dataclass
class HttpFetcher:
    """Fetch URLs for a named source. Raises :class:`SourceError` once retries are spent."""

    settings: HttpSettings
    source: str = "http"
    client: httpx.Client | None = None
    sleep: object = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        self._own_client = self.client is None
        if self.client is None:
            self.client = httpx.Client(
                timeout=httpx.Timeout(self.settings.timeout_s),
                follow_redirects=True,
                headers={"User-Agent": self.settings.user_agent},
                trust_env=False,
            )

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        req_headers = dict(headers or {})
        if etag:
            req_headers["If-None-Match"] = etag
        if last_modified:
            req_headers["If-Modified-Since"] = last_modified
        cap = max_bytes or self.settings.max_bytes

        def _wait(state: RetryCallState) -> float:
            base = wait_exponential_jitter(
                multiplier=self.settings.backoff_base_s, max=60, jitter=self.settings.backoff_base_s
            )(state)
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return min(MAX_RETRY_AFTER_S, max(base, exc.retry_after))
            return base

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=_wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            sleep=self.sleep,  # type: ignore[arg-type]
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, req_headers, params, cap)
        except _Retryable as err:
            raise SourceError(self.source, err.reason, f"{url}: {err.detail}".strip()) from None

    def _get_once(
        self,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        cap: int,
    ) -> FetchResult:
        if self.client is None:  # pragma: no cover - set in __post_init__
            raise RuntimeError("HttpFetcher has no client")
        try:
            with self.client.stream("GET", url, headers=headers, params=params) as resp:
                status = resp.status_code
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
                if status == 304:
                    return FetchResult(str(resp.url), status, b"", resp_headers, not_modified=True)
                if status in RETRYABLE_STATUS:
                    raise _Retryable(
                        f"http-{status}",
                        resp.reason_phrase,
                        parse_retry_after(resp_headers.get("retry-after")),
                    )
                if status >= 400:
                    raise SourceError(self.source, f"http-{status}", f"{url}: {resp.reason_phrase}")
                chunks: list[bytes] = []
                size = 0
                truncated = False
                try:
                    for chunk in resp.iter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > cap:
                            truncated = True
                            break
                except httpx.RemoteProtocolError:
                    if not chunks:
                        raise
                    # The peer closed mid-body: keep what arrived, the caller decides.
                    truncated = True
                body = b"".join(chunks)[:cap]
                return FetchResult(str(resp.url), status, body, resp_headers, truncated=truncated)
        except httpx.TimeoutException as err:
            raise _Retryable("timeout", type(err).__name__) from None
        except httpx.RemoteProtocolError as err:
            # The peer closed early (truncated body) or spoke broken HTTP.
            raise _Retryable("protocol-error", str(err)[:200]) from None
        except httpx.TransportError as err:
            raise _Retryable("connect-error", str(err)[:200]) from None
