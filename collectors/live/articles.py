"""News article pages linked from feeds: polite fetching and main-text extraction.

Why: a feed's summary is one or two sentences, often written to be clicked; the sentiment
model reads the story better from the article itself. Fetching someone's pages must be
polite, so every fetch

* asks the host's ``robots.txt`` first (fetched once per host and cached, matched against
  the project's user agent; ``Crawl-delay`` is honoured up to :data:`MAX_CRAWL_DELAY_S`),
* waits its turn on a per-host rate limit (``news.per_host_interval_s``),
* goes through :class:`HttpFetcher` (timeouts, byte cap, retries with backoff).

The main text is extracted with trafilatura (boilerplate, navigation, scripts and comments
are dropped) and then normalised like all scraped text (:mod:`collectors.text`), so script
or ``javascript:`` content never reaches stored text. When a page cannot be used (robots
disallow, not HTML, HTTP error, nothing extractable) the entry keeps its feed summary and an
:class:`IngestWarning` records why.

The ``news`` source (:func:`build_collectors`) wraps each RSS feed collector: same feed, but
every entry's summary is replaced by the article text when extraction succeeds; the summary
stays in ``metadata["summary"]``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from collectors.assets import AssetTagger
from collectors.base import Collector, CollectResult, SourceError
from collectors.http import FetchResult, HostRateLimiter, HttpFetcher, content_charset
from collectors.live.rss import FeedparserCollector
from collectors.text import clean_text, decode_bytes, flag_language
from core.records import Document, IngestWarning
from core.settings import HttpSettings, NewsSettings

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads the first 500 KiB of a robots.txt
MAX_CRAWL_DELAY_S = 30.0
MIN_ARTICLE_CHARS = 80  # less than this is a teaser, a paywall or a cookie banner
SEEN_LIMIT = 2000  # article URLs remembered per feed, so a re-poll does not fetch them again
_CHARSET_IN_META = b"charset="


@dataclass(frozen=True)
class Extraction:
    """The outcome of one article fetch: text on success, else a stable reason code."""

    url: str
    text: str | None = None
    title: str | None = None
    reason: str | None = None
    detail: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.text is not None


class RobotsCache:
    """``robots.txt`` per host (scheme + authority), fetched once and kept for the process.

    Following RFC 9309: a 4xx answer (no file) allows everything; 401/403 and an
    unreachable or failing server (5xx, timeout) disallow everything for that host, since
    the rules could not be read.
    """

    def __init__(self, fetcher: HttpFetcher, limiter: HostRateLimiter, user_agent: str) -> None:
        self.fetcher = fetcher
        self.limiter = limiter
        self.user_agent = user_agent
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    def rules(self, url: str) -> RobotFileParser:
        origin = self._origin(url)
        with self._lock:
            parser = self._parsers.get(origin)
        if parser is None:
            parser = self._fetch(origin)
            with self._lock:
                parser = self._parsers.setdefault(origin, parser)
        return parser

    def allowed(self, url: str) -> bool:
        return self.rules(url).can_fetch(self.user_agent, url)

    def crawl_delay(self, url: str) -> float | None:
        delay = self.rules(url).crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None

    def _fetch(self, origin: str) -> RobotFileParser:
        robots_url = f"{origin}/robots.txt"
        parser = RobotFileParser(robots_url)
        self.limiter.wait(robots_url)
        try:
            res = self.fetcher.get(robots_url, max_bytes=ROBOTS_MAX_BYTES)
        except SourceError as err:
            code = err.reason.removeprefix("http-")
            if code.isdigit() and 400 <= int(code) < 500 and code not in ("401", "403"):
                parser.parse([])  # no robots.txt: everything is allowed
            else:
                log.info("%s unreadable (%s): treating %s as disallowed", robots_url, err, origin)
                parser.parse(["User-agent: *", "Disallow: /"])
            return parser
        text = decode_bytes(res.content, [content_charset(res.content_type)]).text
        parser.parse(text.splitlines())
        return parser


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _meta_charset(body: bytes) -> str | None:
    """The charset an HTML page declares in its first bytes (``<meta charset=...>``)."""
    head = body[:4096].lower()
    at = head.find(_CHARSET_IN_META)
    if at < 0:
        return None
    value = head[at + len(_CHARSET_IN_META) :].lstrip(b"\"' ")
    end = next((i for i, c in enumerate(value) if c in b"\"' ;/>"), len(value))
    return value[:end].decode("ascii", errors="ignore") or None


class ArticleExtractor:
    """Fetch an article page politely and extract its main text with trafilatura.

    One extractor is shared by every feed of the ``news`` source, so the robots cache and
    the per-host rate limit hold across feeds that link to the same site.
    """

    def __init__(
        self,
        http: HttpSettings,
        per_host_interval_s: float,
        *,
        fetcher: HttpFetcher | None = None,
        limiter: HostRateLimiter | None = None,
    ) -> None:
        # One retry at most: an article is one of many, and its feed summary is kept anyway.
        self.fetcher = fetcher or HttpFetcher(
            http.model_copy(update={"retries": min(http.retries, 1)}), source="news-articles"
        )
        self.per_host_interval_s = per_host_interval_s
        self.limiter = limiter or HostRateLimiter(per_host_interval_s)
        self.robots = RobotsCache(self.fetcher, self.limiter, http.user_agent)
        self._slow: dict[str, HostRateLimiter] = {}
        self._slow_lock = threading.Lock()

    def close(self) -> None:
        self.fetcher.close()

    def extract(self, url: str) -> Extraction:
        """Fetch ``url`` and return its main text, or the reason there is none."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return Extraction(url, reason="bad-url", detail="not an http(s) link")
        if not self.robots.allowed(url):
            return Extraction(url, reason="robots-disallow", detail="robots.txt disallows it")
        self._wait_turn(url)
        try:
            res = self.fetcher.get(url)
        except SourceError as err:
            detail = err.detail.removeprefix(f"{url}: ") or err.reason
            return Extraction(url, reason=err.reason, detail=detail)
        return self._extract(url, res)

    def _wait_turn(self, url: str) -> None:
        """The per-host interval, or the host's longer ``Crawl-delay`` (capped)."""
        self.limiter.wait(url)
        delay = self.robots.crawl_delay(url)
        if delay is not None and delay > self.per_host_interval_s:
            host = urlsplit(url).netloc.lower()
            with self._slow_lock:
                slow = self._slow.setdefault(host, HostRateLimiter(min(delay, MAX_CRAWL_DELAY_S)))
            slow.wait(url)

    def _extract(self, url: str, res: FetchResult) -> Extraction:
        mime = _mime(res.content_type)
        sniffed = mime in ("", "text/plain") and _looks_like_html(res.content)
        if mime not in HTML_TYPES and not sniffed:
            return Extraction(url, reason="not-html", detail=f"content type {mime or 'missing'}")
        markup = decode_bytes(
            res.content, [content_charset(res.content_type), _meta_charset(res.content)]
        ).text
        import trafilatura

        raw = trafilatura.extract(
            markup,
            url=res.url,
            output_format="txt",
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            favor_precision=True,
        )
        text = clean_text(raw or "")
        if len(text) < MIN_ARTICLE_CHARS:
            return Extraction(
                url,
                reason="extract-empty",
                detail=f"{len(text)} characters of main text",
                truncated=res.truncated,
            )
        meta = trafilatura.extract_metadata(markup, default_url=res.url)
        title = clean_text(meta.title) if meta is not None and meta.title else None
        return Extraction(url, text=text, title=title, truncated=res.truncated)


@dataclass
class NewsCollector:
    """A feed whose entries carry their article's text instead of the feed summary."""

    name: str
    feed: Collector
    extractor: ArticleExtractor | None
    tagger: AssetTagger
    interval_s: float

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        """Poll the feed (its own cursor is kept under ``feed``), then fetch each new entry's
        article. Entries whose article was tried before (``seen``) are not fetched again."""
        inner = self.feed.collect(dict(cursor.get("feed") or {}))
        seen: list[str] = list(cursor.get("seen") or [])
        known = set(seen)
        documents: list[Document] = []
        # The feed's own warnings (malformed XML, bad dates) are this source's problems too.
        warnings = [w.model_copy(update={"source": self.name}) for w in inner.warnings]
        for doc in inner.documents:
            if doc.id in known:
                continue
            enriched, warning = self._enrich(doc)
            documents.append(enriched)
            if warning is not None:
                warnings.append(warning)
            seen.append(doc.id)
            known.add(doc.id)
        feed_cursor = inner.cursor if inner.cursor is not None else cursor.get("feed")
        new_cursor = {"feed": dict(feed_cursor or {}), "seen": seen[-SEEN_LIMIT:]}
        return CollectResult(
            documents=tuple(documents),
            warnings=tuple(warnings),
            cursor=new_cursor,
            more=inner.more,
        )

    def _enrich(self, doc: Document) -> tuple[Document, IngestWarning | None]:
        base_meta = {**doc.metadata, "feed_source": doc.source}
        if self.extractor is None or not doc.url:
            return doc.model_copy(update={"source": self.name, "metadata": base_meta}), None
        got = self.extractor.extract(doc.url)
        if not got.ok or got.text is None:
            meta = {**base_meta, "article_error": got.reason}
            kept = doc.model_copy(update={"source": self.name, "metadata": meta})
            return kept, IngestWarning(
                source=self.name,
                reason=got.reason or "extract-failed",
                detail=f"{doc.url}: {got.detail}; kept the feed summary"[:2000],
            )
        meta = {**base_meta, "summary": doc.text, "article_chars": len(got.text)}
        warnings = doc.warnings
        if got.truncated:
            meta["article_truncated"] = True
            warnings = (*warnings, "article-truncated")
        assets = tuple(sorted({*doc.assets, *self.tagger.tag(f"{doc.title}\n{got.text}")}))
        lang = flag_language(meta, "", got.text, fallback=doc.lang)
        enriched = Document.build(
            source=self.name,
            family=doc.family,
            url=doc.url,
            source_id=doc.source_id,
            title=doc.title or (got.title or ""),
            text=got.text,
            author=doc.author,
            published_at=doc.published_at,
            ingested_at=doc.ingested_at,
            assets=assets,
            lang=lang,
            metadata=meta,
            warnings=warnings,
        )
        return enriched, None


def build_collectors(
    feeds: Sequence[FeedparserCollector],
    news: NewsSettings,
    http: HttpSettings,
    tagger: AssetTagger,
) -> list[Collector]:
    """One news collector per feed collector, sharing one robots cache, one per-host rate
    limit and one HTTP client across feeds."""
    extractor = ArticleExtractor(http, news.per_host_interval_s) if news.fetch_articles else None
    return [
        NewsCollector(
            name="news:" + feed.name.split(":", 1)[-1],
            feed=feed,
            extractor=extractor,
            tagger=tagger,
            interval_s=news.interval_s,
        )
        for feed in feeds
    ]
