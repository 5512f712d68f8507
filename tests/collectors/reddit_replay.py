"""Serve recorded Reddit API interactions to the real praw client from 127.0.0.1.

Recordings use the cassette format of praw's own test suite::

    {"interactions": [{"request": {"method", "uri", "headers", "body"},
                       "response": {"status": {"code", "message"}, "headers", "body": {"string"}}}]}

and the older betamax format (``http_interactions``, bodies as ``base64_string``, usually
gzip-compressed). Both are loaded into :class:`Interaction` records and served through
:class:`tests.loopback.LoopbackServer`, so praw talks real HTTP to a real socket; nothing in
praw or prawcore is patched.

Replay rules (the same a careful proxy would apply):

- ``POST /api/v1/access_token`` is answered with a fresh bearer token, unless the recording
  holds a *failed* token exchange (status other than 200), which is then replayed as is.
- API requests match on method, path (a trailing slash is ignored) and the query
  parameters in any order, plus the form body for POSTs. Hosts are ignored: ``oauth_url``,
  ``reddit_url`` and ``short_url`` all point at the one server.
- Interactions that match the same request are played in recorded order and the last one
  repeats, so a recording can script "500, 500, then 200" for a retrying client.
- Recorded ``x-ratelimit-*``, ``content-encoding``, ``transfer-encoding`` and
  ``content-length`` headers are dropped (the body is served decoded and re-measured; stale
  rate-limit headers would make prawcore sleep). A recording that is *about* rate limits
  (a 429) sets ``"replay": {"keep_ratelimit_headers": true}`` on its response.
- A response may carry ``"replay": {"delay_s": 2.0}`` (answer late: timeouts) or
  ``{"truncate_to": 120}`` (announce the full length, send only the first bytes).

Requests that match nothing get a 404 with a JSON explanation and are kept in
:attr:`RedditReplay.unmatched`, so a failing test can say which request had no recording.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core.settings import Settings, load_settings
from tests.loopback import LoopbackServer, Reply, Request

TOKEN_PATH = "/api/v1/access_token"
TOKEN_BODY = {
    "access_token": "replay-token",
    "token_type": "bearer",
    "expires_in": 3600,
    "scope": "*",
}
DROPPED_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
RATELIMIT_PREFIX = "x-ratelimit-"
# Hop-by-hop or cookie headers that make no sense when replayed to a new client.
IGNORED_HEADERS = ("connection", "set-cookie", "keep-alive")

Params = tuple[tuple[str, str], ...]


class CassetteError(ValueError):
    """A recording that cannot be read: the message names the file and the problem."""


@dataclass(frozen=True)
class Interaction:
    """One recorded request and the response to replay for it."""

    method: str
    path: str
    query: Params
    form: Params
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay_s: float = 0.0
    truncate_to: int | None = None

    @property
    def key(self) -> tuple[str, str, Params, Params]:
        return (self.method, self.path, self.query, self.form)

    def reply(self) -> Reply:
        return Reply(
            status=self.status,
            body=self.body,
            headers=dict(self.headers),
            delay_s=self.delay_s,
            truncate_to=self.truncate_to,
        )


def _norm_path(path: str) -> str:
    return path.rstrip("/") or "/"


def _params(raw: str) -> Params:
    return tuple(sorted(parse_qsl(raw, keep_blank_values=True)))


def _header_items(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Recorded headers map a name to a string or a list of strings."""
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            yield str(name), str(v)


def _decode_body(raw: Any, headers: list[tuple[str, str]]) -> bytes:
    """A body is ``{"string": ...}``, ``{"base64_string": ...}`` or a plain string."""
    if raw is None:
        return b""
    if isinstance(raw, str):
        data = raw.encode()
    elif "base64_string" in raw:
        data = base64.b64decode(raw["base64_string"])
    else:
        data = str(raw.get("string") or "").encode(raw.get("encoding") or "utf-8")
    # praw's cassettes hold decoded text whatever Content-Encoding said; betamax kept the raw
    # bytes, so only bytes that really are compressed get decompressed.
    encodings = " ".join(v.lower() for k, v in headers if k.lower() == "content-encoding")
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if "deflate" in encodings and isinstance(raw, Mapping) and "base64_string" in raw:
        return zlib.decompress(data)
    return data


def _status(raw: Any) -> int:
    return int(raw["code"] if isinstance(raw, Mapping) else raw)


def _interaction(item: Mapping[str, Any]) -> Interaction:
    req, resp = item["request"], item["response"]
    uri = urlsplit(req["uri"])
    method = str(req["method"]).upper()
    req_headers = list(_header_items(req.get("headers") or {}))
    form: Params = ()
    if method == "POST":
        form = _params(_decode_body(req.get("body"), req_headers).decode("utf-8", "replace"))
    resp_headers = list(_header_items(resp.get("headers") or {}))
    options = resp.get("replay") or {}
    keep_ratelimit = bool(options.get("keep_ratelimit_headers"))
    headers = tuple(
        (k, v)
        for k, v in resp_headers
        if k.lower() not in DROPPED_HEADERS
        and k.lower() not in IGNORED_HEADERS
        and (keep_ratelimit or not k.lower().startswith(RATELIMIT_PREFIX))
    )
    return Interaction(
        method=method,
        path=_norm_path(uri.path),
        query=_params(uri.query),
        form=form,
        status=_status(resp["status"]),
        headers=headers,
        body=_decode_body(resp.get("body"), resp_headers),
        delay_s=float(options.get("delay_s", 0.0)),
        truncate_to=options.get("truncate_to"),
    )


def load_cassette(path: Path) -> list[Interaction]:
    """Read a praw cassette or a betamax recording into interactions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CassetteError(f"{path}: not a readable JSON cassette ({err})") from None
    items = data.get("interactions", data.get("http_interactions"))
    if not isinstance(items, list):
        raise CassetteError(f"{path}: no 'interactions' or 'http_interactions' list")
    try:
        return [_interaction(item) for item in items]
    except (KeyError, TypeError, ValueError, OSError) as err:
        raise CassetteError(f"{path}: malformed interaction ({err!r})") from None


@dataclass
class RedditReplay:
    """A loopback server answering praw from a list of interactions."""

    server: LoopbackServer
    interactions: list[Interaction] = field(default_factory=list)
    unmatched: list[Request] = field(default_factory=list)
    _played: dict[tuple[str, str, Params, Params], int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_requests(self) -> list[Request]:
        """Requests other than the token exchange, in arrival order."""
        return [r for r in self.server.requests if _norm_path(r.path) != TOKEN_PATH]

    def add(self, interactions: list[Interaction]) -> None:
        self.interactions.extend(interactions)
        for it in interactions:
            self.server.route(it.path, self._answer, method=it.method)
        self.server.route(TOKEN_PATH, self._answer, method="POST")

    def _answer(self, req: Request) -> Reply:
        reply = self._match(req)
        if req.headers.get("connection", "").lower() == "close":
            # Say so, as a real server does, or the client may reuse a socket being closed.
            reply.headers = {**reply.headers, "Connection": "close"}
        return reply

    def _match(self, req: Request) -> Reply:
        path = _norm_path(req.path)
        form = _params(req.body.decode("utf-8", "replace")) if req.method == "POST" else ()
        key = (req.method, path, tuple(sorted(req.query.items())), form)
        if path == TOKEN_PATH:
            failures = [
                it for it in self.interactions if it.path == TOKEN_PATH and it.status != 200
            ]
            return failures[0].reply() if failures else _token_reply()
        candidates = [it for it in self.interactions if it.key == key]
        if not candidates:
            self.unmatched.append(req)
            detail = {"error": 404, "message": "no recording for this request", "path": path}
            detail["query"] = dict(req.query)
            return Reply(404, json.dumps(detail), {"Content-Type": "application/json"})
        index = self._played.get(key, 0)
        self._played[key] = index + 1
        return candidates[min(index, len(candidates) - 1)].reply()


def _token_reply() -> Reply:
    return Reply(
        200,
        json.dumps(TOKEN_BODY),
        {"Content-Type": "application/json; charset=UTF-8"},
    )


@contextmanager
def replay(*cassettes: Path) -> Iterator[RedditReplay]:
    """Serve the given recordings on 127.0.0.1 for the duration of the block."""
    server = LoopbackServer().start()
    try:
        rr = RedditReplay(server)
        # The token route exists even with no recordings (failure tests add their own).
        rr.add([])
        for cassette in cassettes:
            rr.add(load_cassette(cassette))
        yield rr
    finally:
        server.stop()


def replay_settings(
    rr: RedditReplay,
    data_dir: Path,
    http: dict[str, Any] | None = None,
    **reddit: Any,
) -> Settings:
    """Settings with every Reddit endpoint pointing at ``rr`` and test credentials; by default
    r/CryptoCurrency with limit 5 and 4 comments per post, as the recordings were made."""
    section = {
        "client_id": "test-client",
        "client_secret": "test-secret",
        "oauth_url": rr.base_url,
        "reddit_url": rr.base_url,
        "short_url": rr.base_url,
        "subreddits": ["CryptoCurrency"],
        "limit": 5,
        "comments_per_post": 4,
        **reddit,
    }
    return load_settings(data_dir=data_dir, reddit=section, http=http or {})


def listing_reply(
    path: str,
    query: dict[str, str],
    count: int,
    after: str | None,
    subreddit: str = "CryptoCurrency",
) -> Interaction:
    """A listing of ``count`` minimal posts numbered from the query's ``after`` onwards."""
    start = int(query.get("after", "t3_p-1").split("p")[-1]) + 1
    children = [
        {
            "kind": "t3",
            "data": {
                "id": f"p{i}",
                "title": f"Post number {i} about bitcoin",
                "selftext": "",
                "author": "poster",
                "subreddit": subreddit,
                "created_utc": 1_710_230_400.0 - 60 * i,
                "permalink": f"/r/{subreddit}/comments/p{i}/post_number_{i}/",
                "num_comments": 0,
            },
        }
        for i in range(start, start + count)
    ]
    body = {"kind": "Listing", "data": {"after": after, "children": children, "before": None}}
    return json_reply(path, query, body)


def json_reply(path: str, query: dict[str, str], body: Any, status: int = 200) -> Interaction:
    """A GET of ``path`` with ``query`` (praw adds ``raw_json=1``) answered with JSON."""
    return Interaction(
        method="GET",
        path=path,
        query=tuple(sorted({**query, "raw_json": "1"}.items())),
        form=(),
        status=status,
        headers=(("Content-Type", "application/json; charset=UTF-8"),),
        body=json.dumps(body).encode(),
    )
