"""Feed bodies -> documents: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF, CDF and JSON Feed.

feedparser only ever sees bytes we prepared, wrapped in a stream: given a string it would
fetch URLs and open local files itself. Before it reads them the bytes are

1. decoded: a byte-order mark wins; without one, UTF-16 and UTF-32 are recognised by the
   shape of the first characters (XML 1.0 appendix F: ``<`` with NUL bytes around it), then
   the declared charset is used when it fits, else a detected one
   (:func:`collectors.text.decode_bytes`), and re-encoded as UTF-8;
2. cleared of any number of leading byte-order marks, and passed through the DOCTYPE guard
   (:mod:`collectors.parsers.xml_guard`).

A JSON body (``{`` first, or a JSON media type) is read as JSON Feed
(:mod:`collectors.parsers.jsonfeed`) into the same entry shape. Every entry becomes a
:class:`core.records.Document` once, here. Problems become :class:`core.records.IngestWarning`
records: feed-level ones (``malformed-xml``, ``encoding-repaired``, ``truncated``,
``xml-external-entity``, ``xml-entity-expansion``) are also listed in each document's
``warnings``, entry-level ones (``bad-date``, ``future-date``, ``bad-link``, ``bad-entry``) in
that entry's document only; skipped entries (``no-id``, ``empty-entry``) leave only the
warning. A body that is not a feed at all (an HTML page, an empty body, JSON that is not a
JSON Feed) raises :class:`SourceError` ``not-a-feed`` and yields no documents.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from collectors.assets import AssetTagger
from collectors.base import SourceError
from collectors.http import content_charset
from collectors.parsers.jsonfeed import NotAJsonFeed, looks_like_json, parse_json_feed
from collectors.parsers.xml_guard import BOM, guard_dtd, prolog
from collectors.text import Decoded, clean_text, decode_bytes, flag_language, single_line, to_text
from core.records import Document, IngestWarning, SourceFamily

log = logging.getLogger(__name__)

# Column limits of the documents table; longer values would fail a whole batch on PostgreSQL.
MAX_URL = 2000
MAX_SOURCE_ID = 300
MAX_AUTHOR = 300
MAX_CATEGORIES = 20
# Dates before this are placeholders (epoch 0, year 1900), not publication times.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks disagree a little; a date this far ahead is clamped without a warning.
CLOCK_SKEW = timedelta(minutes=5)

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


# --- bytes -> text ------------------------------------------------------------------------------

_XML_DECL = re.compile(r"^<\?xml\s[^>]*?\?>", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(r"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_ENCODING_ATTR = re.compile(r"""encoding\s*=\s*["'][^"']*["']""", re.IGNORECASE)
# Code unit widths of the encodings recognised without a BOM; UTF-32 is tried first because
# a UTF-32 body also looks like UTF-16 with every other character NUL.
_WIDE = (("utf-32-be", 4), ("utf-32-le", 4), ("utf-16-be", 2), ("utf-16-le", 2))


def sniff_wide_encoding(content: bytes) -> tuple[str, int] | None:
    """UTF-16 or UTF-32 (byte order included) and its code unit width, when a body without a
    BOM starts like XML in it: optional whitespace, then ``<``, in plain ASCII characters."""
    head = content[:64]
    for codec, width in _WIDE:
        try:
            sample = head[: len(head) // width * width].decode(codec)
        except UnicodeDecodeError:
            continue
        start = sample[:8]
        plain = start.isascii() and all(c.isprintable() or c in " \t\r\n" for c in start)
        if plain and start.lstrip(" \t\r\n").startswith("<"):
            return codec, width
    return None


def decode_feed(content: bytes, content_type: str) -> Decoded:
    """The body as text, by the rules in the module docstring."""
    claims: list[str | None] = []
    wide = sniff_wide_encoding(content)
    if wide is not None:
        codec, width = wide
        claims.append(codec)
        # A cut body can end inside a code unit; that half character is not text.
        content = content[: len(content) // width * width]
        head = content[:1024].decode(codec, errors="ignore")
    else:
        head = content[:512].decode("latin-1")
    xml_decl = _XML_DECL_ENCODING.match(head)
    claims += [content_charset(content_type), xml_decl.group(1) if xml_decl else None]
    return decode_bytes(content, claims)


def _as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML declaration (if any) says so, leading junk whitespace removed."""
    text = text.lstrip(BOM + " \t\r\n")
    m = _XML_DECL.match(text)
    if m:
        decl = m.group(0)
        if _ENCODING_ATTR.search(decl):
            decl = _ENCODING_ATTR.sub('encoding="utf-8"', decl, count=1)
        text = decl + text[m.end() :]
    return text.encode("utf-8")


# --- text -> entries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entries:
    """What a feed body holds before its entries become documents."""

    title: str
    version: str
    entries: list[Any]
    problems: list[tuple[str, str]]


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
    body is not a feed (an HTML page, an empty or unreadable body, JSON that is no JSON Feed)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "")
    feed_warnings: list[tuple[str, str]] = []
    if truncated:
        feed_warnings.append(("truncated", f"body cut after {len(content)} bytes; parsed it"))
    decoded = decode_feed(content, content_type)
    if decoded.repaired:
        feed_warnings.append(("encoding-repaired", decoded.detail))
    text = decoded.text.lstrip(BOM)

    def refuse(what: str) -> SourceError:
        sniff = single_line(clean_text(text[:120]))[:80]
        return SourceError(
            source,
            "not-a-feed",
            f"{url}: {what} (content-type {content_type or 'unset'!r}, starts {sniff!r})",
        )

    if looks_like_json(text, content_type):
        try:
            found = _json_entries(text, url)
        except NotAJsonFeed as err:
            raise refuse(str(err) + (" (body cut at the byte cap)" if truncated else "")) from None
    else:
        found = _xml_entries(text, source, url, headers, refuse)
    feed_warnings.extend(found.problems)
    context = _FeedContext(
        source=source,
        url=url,
        title=found.title,
        tagger=tagger,
        now=now,
        feed_reasons=tuple(dict.fromkeys(r for r, _ in feed_warnings if r != "bad-entry")),
    )
    warnings = [IngestWarning(source=source, reason=r, detail=d, at=now) for r, d in feed_warnings]
    documents: list[Document] = []
    for index, entry in enumerate(found.entries):
        doc, entry_warnings = _entry_document(entry, index, context)
        warnings.extend(entry_warnings)
        if doc is not None:
            documents.append(doc)
    return ParsedFeed(found.title, found.version, tuple(documents), tuple(warnings))


def _xml_entries(
    text: str,
    source: str,
    url: str,
    headers: Mapping[str, str],
    refuse: Callable[[str], SourceError],
) -> _Entries:
    """RSS, Atom, RDF or CDF through the DOCTYPE guard and feedparser."""
    guarded, problems = guard_dtd(text)
    fp_headers = {
        "content-type": "application/xml; charset=utf-8",
        "content-location": headers.get("content-location") or url,
    }
    if "content-language" in headers:
        fp_headers["content-language"] = headers["content-language"]
    parsed = feedparser.parse(
        io.BytesIO(_as_utf8_xml(guarded)),
        response_headers=fp_headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    entries = list(parsed.get("entries") or [])
    version = str(parsed.get("version") or "")
    _doctypes, root = prolog(guarded)
    if root is not None and root.lower().rpartition(":")[2] == "html":
        raise refuse("an HTML page")
    if not (version or entries or parsed.get("feed")):
        raise refuse("no RSS/Atom/RDF or JSON Feed content")
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        if isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe):
            log.debug("%s: feedparser note: %s", source, exc)
        else:
            problems.append(("malformed-xml", f"{type(exc).__name__}: {exc}"[:500]))
    feed = parsed.get("feed") or {}
    title = single_line(to_text(feed.get("title"), is_html=_is_html(feed.get("title_detail"))))
    return _Entries(title, version, entries, problems)


def _json_entries(text: str, url: str) -> _Entries:
    """A JSON Feed; relative item links are resolved against the feed's URL."""
    feed = parse_json_feed(text)
    for entry in feed.entries:
        if "link" in entry and not urlsplit(entry["link"]).scheme:
            entry["link"] = urljoin(url, entry["link"])
    problems = []
    if feed.skipped:
        problems.append(("bad-entry", f"{feed.skipped} item(s) are not JSON objects; skipped"))
    return _Entries(single_line(clean_text(feed.title)), feed.version, feed.entries, problems)


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
    metadata: dict[str, Any] = {"feed_title": ctx.title, "feed_url": ctx.url}
    categories = [
        single_line(clean_text(str(t.get("term") or ""))) for t in entry.get("tags") or []
    ]
    if categories := [c for c in categories if c][:MAX_CATEGORIES]:
        metadata["categories"] = categories
    lang = flag_language(metadata, title, text)
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
