"""The praw client the Reddit collectors share, and what its failures mean.

Reddit counts requests per OAuth client id (100 a minute, averaged over ten minutes), not per
subreddit, so every subreddit's collector polls through one :class:`RedditClient`:

- :class:`RedditHttpSession` is the requests session praw talks through: no proxies or netrc
  from the environment (the endpoints are settings), the project's timeout on every request,
  and a response hook that feeds :class:`RateQuota`.
- :class:`RateQuota` keeps Reddit's latest ``X-Ratelimit-*`` figures, so a poll that would
  need more requests than are left, or that comes before the reset a 429 asked for, fails at
  once with ``rate-limited`` instead of sleeping inside the scheduler.
- :func:`describe_error` turns praw and prawcore exceptions into the stable reason codes the
  runner and ``cryptosense sources`` show, and says whether trying again soon could help.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from collectors.base import SourceError

if TYPE_CHECKING:
    import praw

    from core.settings import HttpSettings, RedditSettings

DEFAULT_BLOCK_S = 60.0  # how long a 429 without any reset hint keeps us away


# --- the HTTP session praw uses -----------------------------------------------------------------


@dataclass
class RateQuota:
    """Reddit's latest rate-limit figures for one client id, read from every response.

    ``remaining`` requests are left until ``reset_at`` (monotonic seconds); a 429 sets
    ``blocked_until``. Filled by a requests response hook, so prawcore stays untouched.
    """

    remaining: float | None = None
    used: int | None = None
    reset_at: float | None = None
    blocked_until: float | None = None
    clock: Any = field(default=time.monotonic, repr=False)

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests ``response`` hook: remember the ``X-Ratelimit-*`` figures."""
        del args, kwargs
        headers = response.headers
        now = self.clock()
        reset = _float(headers.get("x-ratelimit-reset"))
        if reset is not None:
            self.reset_at = now + reset
        remaining = _float(headers.get("x-ratelimit-remaining"))
        if remaining is not None:
            self.remaining = remaining
            used = _float(headers.get("x-ratelimit-used"))
            self.used = int(used) if used is not None else self.used
        if response.status_code == 429:
            waits = [w for w in (_float(headers.get("retry-after")), reset) if w is not None]
            self.blocked_until = now + (max(waits) if waits else DEFAULT_BLOCK_S)

    def seconds_to_reset(self) -> float:
        return 0.0 if self.reset_at is None else max(0.0, self.reset_at - self.clock())

    def check(self, source: str, needed: int) -> int:
        """How many requests this poll may make (at most ``needed``); raises ``rate-limited``
        when Reddit asked us to wait or too little is left to fetch the listings."""
        now = self.clock()
        if self.blocked_until is not None and now < self.blocked_until:
            wait = self.blocked_until - now
            raise SourceError(
                source, "rate-limited", f"Reddit answered 429; waiting {wait:.0f}s more"
            )
        if self.remaining is None or self.reset_at is None or now >= self.reset_at:
            return needed
        return max(0, min(needed, int(self.remaining)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "used": self.used,
            "reset_s": round(self.seconds_to_reset(), 1) if self.reset_at is not None else None,
        }


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RedditHttpSession(requests.Session):
    """The requests session praw talks through.

    ``trust_env`` is off (no proxies or netrc picked up from the environment: the endpoints
    are settings), every request gets our timeout (prawcore otherwise passes its own 16 s
    constant), and a response hook feeds :class:`RateQuota`.
    """

    def __init__(self, timeout_s: float, quota: RateQuota) -> None:
        super().__init__()
        self.trust_env = False
        self.timeout_s = timeout_s
        self.hooks["response"].append(quota.observe)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs["timeout"] = self.timeout_s
        return super().request(method, url, *args, **kwargs)


@dataclass
class RedditClient:
    """One praw client per OAuth client id, shared by every subreddit's collector.

    praw is not thread-safe, so a poll holds ``lock`` for its whole duration.
    """

    reddit: praw.Reddit
    quota: RateQuota
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_client(reddit: RedditSettings, http: HttpSettings) -> RedditClient:
    """A read-only praw client on the configured endpoints (Reddit, a proxy or a replay)."""
    import praw

    if not reddit.configured:
        raise ValueError("Reddit needs reddit.client_id and reddit.client_secret")
    quota = RateQuota()
    session = RedditHttpSession(http.timeout_s, quota)
    client = praw.Reddit(
        client_id=reddit.client_id,
        client_secret=reddit.client_secret,
        user_agent=reddit.user_agent,
        # prawcore joins API paths to oauth_url (a trailing slash keeps a proxy's path
        # prefix) and appends "/api/v1/access_token" to reddit_url (so none there).
        oauth_url=reddit.oauth_url.rstrip("/") + "/",
        reddit_url=reddit.reddit_url.rstrip("/"),
        short_url=reddit.short_url.rstrip("/"),
        check_for_updates=False,
        requestor_kwargs={"session": session, "timeout": http.timeout_s},
    )
    client.read_only = True
    return RedditClient(client, quota)


# --- errors -------------------------------------------------------------------------------------


def describe_error(err: Exception) -> tuple[str, str, bool]:
    """(reason, detail, transient) for an exception raised by praw or prawcore."""
    from praw.exceptions import PRAWException
    from prawcore import exceptions as pc

    if isinstance(err, pc.TooManyRequests):
        headers = err.response.headers
        hints = [
            f"{name} {headers[name]}"
            for name in ("retry-after", "x-ratelimit-reset", "x-ratelimit-remaining")
            if name in headers
        ]
        return "rate-limited", "HTTP 429" + (f" ({', '.join(hints)})" if hints else ""), True
    if isinstance(err, pc.ServerError):
        status = err.response.status_code
        return f"http-{status}", f"Reddit answered {status} (after prawcore's retries)", True
    if isinstance(err, pc.RequestException):
        return _describe_transport(err.original_exception)
    if isinstance(err, pc.Redirect):
        return "not-found", f"redirected to {err.path} (no such subreddit?)", False
    if isinstance(err, pc.BadJSON):
        return "bad-json", f"HTTP {err.response.status_code} body is not JSON", False
    if isinstance(err, pc.OAuthException):
        return "auth-failed", f"token request refused: {err}", False
    if isinstance(err, pc.ResponseException):
        status = err.response.status_code
        reason = {401: "auth-failed", 403: "forbidden", 404: "not-found"}.get(status)
        return reason or f"http-{status}", f"Reddit answered {status}", False
    if isinstance(err, PRAWException):
        return "client-error", str(err)[:300], False
    return "crash", f"{type(err).__name__}: {err}"[:300], False


def _describe_transport(exc: Exception) -> tuple[str, str, bool]:
    if isinstance(exc, requests.Timeout):
        return "timeout", f"no answer in time ({type(exc).__name__})", True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated-body", "the connection closed before the body was complete", True
    if isinstance(exc, requests.ConnectionError):
        return "connect-error", str(exc)[:200], True
    return "request-error", f"{type(exc).__name__}: {exc}"[:200], True


def reddit_errors() -> tuple[type[Exception], ...]:
    from praw.exceptions import PRAWException
    from prawcore.exceptions import PrawcoreException

    return (PrawcoreException, PRAWException)
