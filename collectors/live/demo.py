"""The offline demo: project-written feeds served from 127.0.0.1.

Without internet the service still shows its whole path working: :class:`DemoFeedServer`
serves the sample feeds in ``collectors/live/demo_feeds/`` (clearly titled "Cryptosense
demo: ...") over real HTTP on an ephemeral port, and the ordinary
:class:`collectors.live.rss.FeedparserCollector` polls them like any other feed. The server
answers conditional GETs with 304, so re-polls are as cheap (and as duplicate-free) as
against a well-behaved publisher.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from core.settings import DemoSettings, FeedSpec

log = logging.getLogger(__name__)

DEMO_FEEDS_DIR = Path(__file__).with_name("demo_feeds")
FEED_PATH_PREFIX = "/feeds/"


def internet_reachable(probe_url: str, timeout: float) -> bool:
    """True when ``probe_url`` answers at all (any HTTP status) within ``timeout`` seconds."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
            client.head(probe_url)
    except httpx.HTTPError as err:
        log.debug("internet probe %s failed: %s", probe_url, err)
        return False
    return True


def use_demo(demo: DemoSettings) -> bool:
    """Whether to serve the demo feeds: ``demo.mode`` on/off, or, for auto, when the probe URL
    cannot be reached (logged plainly, since the user will wonder where the news comes from)."""
    if demo.mode != "auto":
        return demo.mode == "on"
    if internet_reachable(demo.probe_url, demo.probe_timeout_s):
        return False
    log.warning(
        "The internet is not reachable (%s did not answer): running the offline demo with "
        "project-written sample feeds served from 127.0.0.1.",
        demo.probe_url,
    )
    return True


@dataclass(frozen=True)
class _Feed:
    body: bytes
    etag: str
    last_modified: str
    content_type: str


def _load_feeds(folder: Path) -> dict[str, _Feed]:
    feeds: dict[str, _Feed] = {}
    for path in sorted(folder.glob("*.xml")):
        body = path.read_bytes()
        atom = b"http://www.w3.org/2005/Atom" in body[:2000]
        feeds[path.stem] = _Feed(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=email.utils.formatdate(path.stat().st_mtime, usegmt=True),
            content_type=("application/atom+xml" if atom else "application/rss+xml")
            + "; charset=utf-8",
        )
    return feeds


class DemoFeedServer:
    """Serves every ``*.xml`` in ``folder`` at ``/feeds/<name>.xml`` from a daemon thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, folder: Path = DEMO_FEEDS_DIR, host: str = "127.0.0.1", port: int = 0):
        self.feeds = _load_feeds(folder)
        if not self.feeds:
            raise FileNotFoundError(f"no demo feeds (*.xml) in {folder}")
        feeds = self.feeds

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                log.debug("demo feed server: " + format, *args)

            def do_HEAD(self) -> None:
                self._answer(send_body=False)

            def do_GET(self) -> None:
                self._answer(send_body=True)

            def _answer(self, *, send_body: bool) -> None:
                path = self.path.split("?", 1)[0]
                name = path.removeprefix(FEED_PATH_PREFIX).removesuffix(".xml")
                feed = feeds.get(name) if path.startswith(FEED_PATH_PREFIX) else None
                if feed is None:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8", send_body)
                    return
                if self._not_modified(feed):
                    self.send_response(304)
                    self.send_header("ETag", feed.etag)
                    self.send_header("Last-Modified", feed.last_modified)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(200, feed.body, feed.content_type, send_body, feed)

            def _not_modified(self, feed: _Feed) -> bool:
                inm = self.headers.get("If-None-Match")
                if inm is not None:
                    return feed.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
                ims = self.headers.get("If-Modified-Since")
                return ims is not None and ims.strip() == feed.last_modified

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                send_body: bool,
                feed: _Feed | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if feed is not None:
                    self.send_header("ETag", feed.etag)
                    self.send_header("Last-Modified", feed.last_modified)
                    self.send_header("Cache-Control", "max-age=60")
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="demo-feed-server", daemon=True
        )
        self._started = False

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}{FEED_PATH_PREFIX}{name}.xml"

    def feed_specs(self) -> list[FeedSpec]:
        """One feed setting per demo feed, named ``demo-<file stem>``."""
        return [FeedSpec(name=f"demo-{name}", url=self.url(name)) for name in self.feeds]

    def start(self) -> DemoFeedServer:
        if not self._started:
            self._thread.start()
            self._started = True
            log.info("demo feeds served at %s%s", self.base_url, FEED_PATH_PREFIX)
        return self

    def stop(self) -> None:
        if self._started:
            self._httpd.shutdown()
            self._started = False
        self._httpd.server_close()

    def __enter__(self) -> DemoFeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
