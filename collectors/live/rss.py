"""RSS, Atom and JSON feeds: :class:`FeedparserCollector`, one per configured feed.

The feed is fetched by :class:`collectors.http.HttpFetcher` (timeouts, byte cap, retries,
conditional GET from the cursor's ETag / Last-Modified) and read by
:func:`collectors.parsers.feed.parse_feed` (charset and UTF-16/32 detection, the DOCTYPE
guard, feedparser or the JSON Feed reader, entries -> documents, warnings). A response that
is not a feed at all raises :class:`SourceError` ``not-a-feed`` and yields no documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from collectors.assets import AssetTagger
from collectors.base import CollectResult
from collectors.http import HttpFetcher
from collectors.parsers.feed import parse_feed
from collectors.registry import CollectOptions
from core.settings import HttpSettings, RssSettings
from core.times import utcnow

log = logging.getLogger(__name__)

SOURCE_PREFIX = "rss:"


class FeedparserCollector:
    """One RSS/Atom feed as a source named ``rss:<name>``.

    The cursor holds the feed URL and the validators of the last complete response, so the
    next poll is a conditional GET; a 304 yields nothing and keeps the cursor. A truncated
    body is parsed but its validators are not kept, so the next poll fetches it in full.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        http: HttpSettings,
        tagger: AssetTagger,
        interval_s: float = 300.0,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = name if name.startswith(SOURCE_PREFIX) else SOURCE_PREFIX + name
        self.url = url
        self.interval_s = interval_s
        self.http = http
        self.tagger = tagger
        self.client = client
        self.clock = clock

    def __repr__(self) -> str:
        return f"FeedparserCollector({self.name!r}, {self.url!r})"

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        validators = cursor if cursor.get("url") == self.url else {}
        with HttpFetcher(self.http, source=self.name, client=self.client) as fetcher:
            res = fetcher.get(
                self.url,
                etag=validators.get("etag"),
                last_modified=validators.get("last_modified"),
            )
        if res.not_modified:
            log.debug("%s: not modified", self.name)
            return CollectResult(cursor=dict(cursor), extra={"status": res.status})
        parsed = parse_feed(
            res.content,
            source=self.name,
            url=res.url,
            tagger=self.tagger,
            now=self.clock(),
            headers=res.headers,
            truncated=res.truncated,
        )
        new_cursor: dict[str, Any] = {"url": self.url}
        if not res.truncated:
            if res.etag:
                new_cursor["etag"] = res.etag
            if res.last_modified:
                new_cursor["last_modified"] = res.last_modified
        return CollectResult(
            documents=parsed.documents,
            warnings=parsed.warnings,
            cursor=new_cursor,
            extra={"status": res.status, "feed_title": parsed.title, "version": parsed.version},
        )


def _name_from_url(url: str) -> str:
    host = (urlsplit(url).hostname or "feed").lower()
    return host.removeprefix("www.")


def build_collectors(
    rss: RssSettings, http: HttpSettings, tagger: AssetTagger, options: CollectOptions
) -> list[FeedparserCollector]:
    """``options.url``: that feed only (named ``options.name`` or after its host); otherwise
    one collector per ``rss.feeds``."""

    def make(name: str, url: str) -> FeedparserCollector:
        return FeedparserCollector(name, url, http=http, tagger=tagger, interval_s=rss.interval_s)

    if options.url:
        parts = urlsplit(options.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--url must be an http(s) URL, got {options.url!r}")
        return [make(options.name or _name_from_url(options.url), options.url)]
    return [make(feed.name, feed.url) for feed in rss.feeds]
