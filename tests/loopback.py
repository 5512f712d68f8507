"""A tiny HTTP server on 127.0.0.1 that replays recorded or hand-written responses.

Tests point the real client libraries (httpx, feedparser, praw, ccxt) at it instead of
patching them. Routes map ``(method, path)`` to a :class:`Reply` or to a callable that
builds one from the request, so a test can script ETags, 429s with reset headers, 500s,
slow or truncated bodies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (timeouts)
    truncate_to: int | None = None  # announce the full length, send only this many bytes
    chunks: int = 0  # >0: send this many copies of body with no Content-Length (endless bodies)

    def payload(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Handler = Reply | Callable[[Request], Reply]


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                server.requests.append(req)
                handler = server.routes.get((req.method, req.path)) or server.routes.get(
                    (req.method, req.path.rstrip("/"))
                )
                reply = (
                    Reply(404, b"not found")
                    if handler is None
                    else (handler(req) if callable(handler) else handler)
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.payload()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if reply.chunks:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for _ in range(reply.chunks):
                            self.wfile.write(body)
                        self.close_connection = True
                        return
                    self.send_header("Content-Length", str(len(body)))
                    if reply.truncate_to is not None:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(body[: reply.truncate_to])
                        self.close_connection = True
                        return
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler, method: str = "GET") -> None:
        self.routes[(method, path)] = handler

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def serve() -> Iterator[LoopbackServer]:
    srv = LoopbackServer().start()
    try:
        yield srv
    finally:
        srv.stop()
