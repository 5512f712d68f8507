"""RSS and Atom feeds: :class:`FeedparserCollector`.

The feed is fetched by :class:`collectors.http.HttpFetcher` (timeouts, byte cap, retries,
conditional GET from the cursor's ETag / Last-Modified) and feedparser only ever sees the
bytes, wrapped in a stream: given a string, feedparser would fetch URLs and open local files
itself. Before feedparser reads them the bytes are

1. decoded with the declared charset when it fits, else a detected one
   (:func:`collectors.text.decode_bytes`), and re-encoded as UTF-8;
2. stripped of DTD content that could expand or fetch anything: external entities
   (``SYSTEM``/``PUBLIC``, e.g. ``file:///etc/passwd``), parameter entities, entities that
   reference other entities (billion laughs) or are long (quadratic blow-up), and the
   external DTD subset. Short literal entities (``&nbsp;`` style) are kept.

Every entry becomes a :class:`core.records.Document` once, here. Problems become
:class:`core.records.IngestWarning` records: feed-level ones (``malformed-xml``,
``encoding-repaired``, ``truncated``, ``xml-external-entity``, ``xml-entity-expansion``)
are also listed in each document's ``warnings``, entry-level ones (``bad-date``,
``future-date``, ``bad-link``) in that entry's document only; skipped entries (``no-id``,
``empty-entry``) leave only the warning. A response that is not a feed at all (an HTML page,
an empty body) raises :class:`SourceError` ``not-a-feed`` and yields no documents.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.http import HttpFetcher
from collectors.registry import CollectOptions
from collectors.text import clean_text, decode_bytes, detect_language, single_line, to_text
from core.records import Document, IngestWarning, SourceFamily
from core.settings import HttpSettings, Settings
from core.times import utcnow

log = logging.getLogger(__name__)

SOURCE_PREFIX = "rss:"
# Column limits of the documents table; longer values would fail a whole batch on PostgreSQL.
MAX_URL = 2000
MAX_SOURCE_ID = 300
MAX_AUTHOR = 300
MAX_CATEGORIES = 20
# Dates before this are placeholders (epoch 0, year 1900), not publication times.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks disagree a little; a date this far ahead is clamped without a warning.
CLOCK_SKEW = timedelta(minutes=5)
# Entities kept in a DTD: literal, at most this long, at most this many.
MAX_ENTITY_VALUE = 64
MAX_ENTITIES = 256

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


# --- the DTD guard --------------------------------------------------------------------------

_ENTITY_DECL = re.compile(
    r"""<!ENTITY\s+(%\s+)?([^\s"'>%]+)\s+(?:(SYSTEM|PUBLIC)\b|"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
_SAFE_ENTITY_NAME = re.compile(r"\w+")
_CHAR_REF = re.compile(r"&#(?:\d+|x[0-9a-fA-F]+);")
_ENTITY_REF = re.compile(r"&([^\s;&#<>\"']+);")
_PREDEFINED_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ROOT_NAME = re.compile(r"<([A-Za-z_][\w:.-]*)")
_DOCTYPE_NAME = re.compile(r"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)(?=[\s\[>])", re.IGNORECASE)


def _prolog(text: str) -> tuple[list[tuple[int, int]], str | None]:
    """Where the DOCTYPE declarations are (one in valid XML; a hostile document may repeat it)
    and the root element's name.

    Comments, processing instructions and whitespace may come before either; the scan stops
    at the root element, so nothing inside the document is mistaken for a DOCTYPE.
    """
    doctypes: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                break
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                break
            i = j + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            doctypes.append((i, _doctype_end(text, i + 9)))
            i = doctypes[-1][1]
        else:
            root = _ROOT_NAME.match(text, i)
            return doctypes, root.group(1) if root else None
    return doctypes, None


def _doctype_end(text: str, i: int) -> int:
    """Index just after the DOCTYPE's closing ``>``, honouring quotes, the internal subset and
    comments inside it; the end of the text if it never closes."""
    quote: str | None = None
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif depth and text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            i = n if j < 0 else j + 3
            continue
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == ">" and depth == 0:
            return i + 1
        i += 1
    return n


@dataclass
class _EntityReport:
    external: list[str] = field(default_factory=list)
    expanding: list[str] = field(default_factory=list)


def guard_dtd(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Replace the document's DOCTYPE by one that declares only safe entities, and remove the
    references to the entities it dropped.

    Returns the new text and ``(reason, detail)`` pairs for what was removed. The external DTD
    subset (``<!DOCTYPE rss SYSTEM "http://...">``) is dropped silently: it is common and
    harmless once nothing fetches it, and this guarantees nothing does.
    """
    spans, _root = _prolog(text)
    if not spans:
        return text, []
    report = _EntityReport()
    safe: list[tuple[str, str]] = []
    name = "feed"
    for k, (start, end) in enumerate(spans):
        doctype = text[start:end]
        if k == 0 and (name_match := _DOCTYPE_NAME.match(doctype)):
            name = name_match.group(1)
        lo, hi = doctype.find("["), doctype.rfind("]")
        subset = doctype[lo + 1 : hi] if 0 <= lo < hi else ""
        for m in _ENTITY_DECL.finditer(subset):
            param, ent, external = m.group(1), m.group(2), m.group(3)
            value = m.group(4) if m.group(4) is not None else m.group(5)
            if external:
                report.external.append(ent)
            elif k > 0 or param or value is None or not _is_safe_entity(ent, value):
                report.expanding.append(ent)
            elif len(safe) < MAX_ENTITIES:
                safe.append((ent, value))
    replacement = ""
    if safe:
        decls = "\n".join(f'<!ENTITY {k} "{v}">' for k, v in safe)
        replacement = f"\n<!DOCTYPE {name} [\n{decls}\n]>"
    problems: list[tuple[str, str]] = []
    if report.external:
        problems.append(
            (
                "xml-external-entity",
                f"{len(report.external)} external entit(ies) removed, not fetched: "
                + ", ".join(report.external[:5]),
            )
        )
    if report.expanding:
        problems.append(
            (
                "xml-entity-expansion",
                f"{len(report.expanding)} expanding or oversized entit(ies) removed: "
                + ", ".join(report.expanding[:5]),
            )
        )
    body = text[spans[-1][1] :]
    removed = set(report.external + report.expanding) - _PREDEFINED_ENTITIES
    if removed:
        # References to removed entities would be undefined: drop them with the declarations.
        body = _ENTITY_REF.sub(lambda m: "" if m.group(1) in removed else m.group(0), body)
    return text[: spans[0][0]] + replacement + body, problems


def _is_safe_entity(name: str, value: str) -> bool:
    """A literal that cannot expand: no references except one character reference, no
    markup, short enough that many references to it stay small."""
    if not _SAFE_ENTITY_NAME.fullmatch(name) or len(value) > MAX_ENTITY_VALUE:
        return False
    if _CHAR_REF.fullmatch(value):
        return True
    return not any(c in value for c in '&%<"')


# --- bytes -> feedparser result ---------------------------------------------------------------

_XML_DECL = re.compile(r"^<\?xml\s[^>]*?\?>", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_ENCODING_ATTR = re.compile(r"""encoding\s*=\s*["'][^"']*["']""", re.IGNORECASE)


def _http_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML declaration (if any) says so, leading junk whitespace removed."""
    text = text.lstrip("\ufeff \t\r\n")
    m = _XML_DECL.match(text)
    if m:
        decl = m.group(0)
        if _ENCODING_ATTR.search(decl):
            decl = _ENCODING_ATTR.sub('encoding="utf-8"', decl, count=1)
        text = decl + text[m.end() :]
    return text.encode("utf-8")


@dataclass(frozen=True)
class ParsedFeed:
    """Documents and warnings from one feed body."""

    title: str
    version: str
    documents: tuple[Document, ...]
    warnings: tuple[IngestWarning, ...]


def parse_feed(
    content: bytes,
    *,
    source: str,
    url: str,
    tagger: AssetTagger,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    truncated: bool = False,
) -> ParsedFeed:
    """Turn one feed body into documents; raises :class:`SourceError` ``not-a-feed`` when the
    body is not a feed (an HTML page, an empty or unreadable body)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "")
    feed_warnings: list[tuple[str, str]] = []
    if truncated:
        feed_warnings.append(("truncated", f"body cut after {len(content)} bytes; parsed it"))
    xml_decl = _XML_DECL_ENCODING.match(content[:512])
    decoded = decode_bytes(
        content,
        [_http_charset(content_type), xml_decl.group(1).decode("ascii") if xml_decl else None],
    )
    if decoded.repaired:
        feed_warnings.append(("encoding-repaired", decoded.detail))
    text, dtd_problems = guard_dtd(decoded.text)
    feed_warnings.extend(dtd_problems)
    fp_headers = {
        "content-type": "application/xml; charset=utf-8",
        "content-location": headers.get("content-location") or url,
    }
    if "content-language" in headers:
        fp_headers["content-language"] = headers["content-language"]
    parsed = feedparser.parse(
        io.BytesIO(_as_utf8_xml(text)),
        response_headers=fp_headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    entries = list(parsed.get("entries") or [])
    version = str(parsed.get("version") or "")
    _doctypes, root = _prolog(text)
    is_page = root is not None and root.lower().rpartition(":")[2] == "html"
    if is_page or not (version or entries or parsed.get("feed")):
        sniff = single_line(clean_text(decoded.text[:120]))[:80]
        what = "an HTML page" if is_page else "no RSS/Atom/RDF content"
        raise SourceError(
            source,
            "not-a-feed",
            f"{url}: {what} (content-type {content_type or 'unset'!r}, starts {sniff!r})",
        )
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        if isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe):
            log.debug("%s: feedparser note: %s", source, exc)
        else:
            feed_warnings.append(("malformed-xml", f"{type(exc).__name__}: {exc}"[:500]))
    feed = parsed.get("feed") or {}
    title = single_line(to_text(feed.get("title"), is_html=_is_html(feed.get("title_detail"))))
    context = _FeedContext(
        source=source,
        url=url,
        title=title,
        tagger=tagger,
        now=now,
        feed_reasons=tuple(dict.fromkeys(r for r, _ in feed_warnings)),
    )
    warnings = [IngestWarning(source=source, reason=r, detail=d, at=now) for r, d in feed_warnings]
    documents: list[Document] = []
    for index, entry in enumerate(entries):
        doc, entry_warnings = _entry_document(entry, index, context)
        warnings.extend(entry_warnings)
        if doc is not None:
            documents.append(doc)
    return ParsedFeed(title, version, tuple(documents), tuple(warnings))


# --- entry -> Document --------------------------------------------------------------------------


@dataclass(frozen=True)
class _FeedContext:
    source: str
    url: str
    title: str
    tagger: AssetTagger
    now: datetime
    feed_reasons: tuple[str, ...]


def _is_html(detail: Any) -> bool | None:
    """True for HTML content, None (look at the value) for anything else: "plain text" in
    feeds often carries tags anyway."""
    kind = str((detail or {}).get("type") or "").lower()
    return True if kind in _HTML_TYPES else None


def _entry_text(entry: Any) -> str:
    """The entry's body: its longest ``content`` value, else its summary."""
    best: tuple[str, bool | None] = ("", None)
    for content in entry.get("content") or []:
        value = str(content.get("value") or "")
        if len(value) > len(best[0]):
            best = (value, _is_html(content))
    summary = str(entry.get("summary") or "")
    if len(summary) > len(best[0]):
        best = (summary, _is_html(entry.get("summary_detail")))
    return to_text(best[0], is_html=best[1])


def _entry_time(entry: Any, now: datetime) -> tuple[datetime, tuple[str, str] | None]:
    """published, else updated, else created; ``now`` with a warning when none is usable, and
    clamped to ``now`` (with a warning beyond clock skew) when it lies in the future."""
    raw_seen: str | None = None
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        parsed = entry.get(f"{key}_parsed")
        if raw and raw_seen is None:
            raw_seen = str(raw)
        if not parsed:
            continue
        try:
            year, month, day, hour, minute, second = tuple(parsed)[:6]
            when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if when < EARLIEST_DATE:
            return now, ("bad-date", f"implausible date {raw!r}; ingested time used")
        if when > now:
            if when - now > CLOCK_SKEW:
                return now, ("future-date", f"date {raw!r} is in the future; clamped to now")
            return now, None
        return when, None
    if raw_seen is not None:
        return now, ("bad-date", f"unparseable date {raw_seen[:100]!r}; ingested time used")
    return now, ("bad-date", "no date; ingested time used")


def _entry_link(entry: Any) -> tuple[str | None, tuple[str, str] | None]:
    link = str(entry.get("link") or "").strip()
    if not link:
        return None, None
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(link) > MAX_URL:
        return None, ("bad-link", f"link {link[:100]!r} is not a usable http(s) URL; dropped")
    return link, None


def _entry_id(entry: Any) -> str | None:
    raw = clean_text(str(entry.get("id") or ""))
    if not raw:
        return None
    if len(raw) > MAX_SOURCE_ID:
        return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    return raw


def _entry_document(
    entry: Any, index: int, ctx: _FeedContext
) -> tuple[Document | None, list[IngestWarning]]:
    """One entry as a document (or None when it must be skipped) and its warnings."""
    title = single_line(to_text(entry.get("title"), is_html=_is_html(entry.get("title_detail"))))
    label = f"entry {index} ({title[:60]!r})" if title else f"entry {index}"
    problems: list[tuple[str, str]] = []
    link, link_problem = _entry_link(entry)
    if link_problem:
        problems.append(link_problem)
    source_id = _entry_id(entry)
    text = _entry_text(entry)

    def warn(items: list[tuple[str, str]]) -> list[IngestWarning]:
        return [
            IngestWarning(source=ctx.source, reason=r, detail=f"{label}: {d}", at=ctx.now)
            for r, d in items
        ]

    if link is None and source_id is None:
        return None, warn([*problems, ("no-id", "no link and no id; skipped")])
    if not title and not text:
        return None, warn([*problems, ("empty-entry", "no title and no text; skipped")])
    published_at, date_problem = _entry_time(entry, ctx.now)
    if date_problem:
        problems.append(date_problem)
    lang = detect_language(f"{title}. {text}" if text else title)
    metadata: dict[str, Any] = {"feed_title": ctx.title, "feed_url": ctx.url}
    categories = [
        single_line(clean_text(str(t.get("term") or ""))) for t in entry.get("tags") or []
    ]
    if categories := [c for c in categories if c][:MAX_CATEGORIES]:
        metadata["categories"] = categories
    if lang is not None and lang != "en":
        metadata["non_english"] = True
    author = single_line(clean_text(str(entry.get("author") or "")))[:MAX_AUTHOR] or None
    reasons = ctx.feed_reasons + tuple(r for r, _ in problems if r not in ctx.feed_reasons)
    doc = Document.build(
        source=ctx.source,
        family=SourceFamily.NEWS,
        url=link,
        source_id=source_id,
        title=title,
        text=text,
        author=author,
        published_at=published_at,
        ingested_at=ctx.now,
        assets=ctx.tagger.tag(f"{title}\n{text}"),
        lang=lang,
        metadata=metadata,
        warnings=reasons,
    )
    return doc, warn(problems)


# --- the collector ------------------------------------------------------------------------------


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


def build_collectors(settings: Settings, options: CollectOptions) -> list[FeedparserCollector]:
    """``options.url``: that feed only (named ``options.name`` or after its host); otherwise
    one collector per ``settings.rss.feeds``."""
    tagger = AssetTagger.from_settings(settings)

    def make(name: str, url: str) -> FeedparserCollector:
        return FeedparserCollector(
            name, url, http=settings.http, tagger=tagger, interval_s=settings.rss.interval_s
        )

    if options.url:
        parts = urlsplit(options.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--url must be an http(s) URL, got {options.url!r}")
        return [make(options.name or _name_from_url(options.url), options.url)]
    return [make(feed.name, feed.url) for feed in settings.rss.feeds]
