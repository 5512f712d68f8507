"""JSON Feed (https://www.jsonfeed.org/version/1.1/, and 1.0) read into feedparser's shape.

feedparser 6 reads RSS, Atom, RDF and CDF but not JSON Feed, which many publishers (Micro.blog,
WordPress plugins, newsletters) serve. This module reads it with the json module, strictly:
the top level must be an object whose ``version`` is a jsonfeed.org version URL and whose
``items`` is a list; anything else is not a JSON Feed. Each item becomes a dict with the keys
feedparser gives an entry (``id``, ``link``, ``title``, ``content``, ``summary``,
``published``/``published_parsed``, ``updated``/``updated_parsed``, ``author``, ``tags``), so
the feed parser turns both kinds of entries into documents with one piece of code.

Field mapping (1.1 names; 1.0's ``author`` object is read when ``authors`` is absent):
``url`` (else ``external_url``) -> ``link``; ``content_html`` / ``content_text`` ->
``content`` (HTML / plain); ``summary`` -> ``summary``; ``date_published`` /
``date_modified`` (RFC 3339) -> ``published`` / ``updated``; ``authors[0].name`` ->
``author``; ``tags`` -> ``tags`` as ``[{"term": ...}]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION_PREFIX = "https://jsonfeed.org/version/"
MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})


class NotAJsonFeed(ValueError):
    """The body is not JSON, or JSON that is not a JSON Feed; the message says which."""


@dataclass(frozen=True)
class JsonFeed:
    """What the feed parser needs: the feed's title, its version and entries (items that
    are not objects are counted in ``skipped``)."""

    title: str
    version: str
    entries: list[dict[str, Any]]
    skipped: int = 0


def looks_like_json(text: str, content_type: str = "") -> bool:
    """True when the body starts like a JSON object or array, or the media type says JSON and
    the body does not start like XML (servers label RSS ``application/json`` too)."""
    start = text.lstrip("\ufeff \t\r\n")[:1]
    media = content_type.split(";", 1)[0].strip().lower()
    return start in ("{", "[") or (media in MEDIA_TYPES and start != "<")


def parse_json_feed(text: str) -> JsonFeed:
    """Read a JSON Feed document; raises :class:`NotAJsonFeed` when it is not one."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as err:
        raise NotAJsonFeed(f"invalid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(data, Mapping):
        raise NotAJsonFeed(f"JSON {type(data).__name__}, not a JSON Feed object")
    version = data.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise NotAJsonFeed(f"JSON without a jsonfeed.org version (version {version!r})")
    items = data.get("items")
    if not isinstance(items, list):
        raise NotAJsonFeed("JSON Feed without an items list")
    entries = [_entry(item) for item in items if isinstance(item, Mapping)]
    short = version.removeprefix(VERSION_PREFIX).replace(".", "")
    return JsonFeed(
        title=_string(data.get("title")),
        version=f"json{short}",
        entries=entries,
        skipped=len(items) - len(entries),
    )


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    raw_id = item.get("id")
    if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        entry["id"] = str(raw_id)
    link = _string(item.get("url")) or _string(item.get("external_url"))
    if link:
        entry["link"] = link
    if title := _string(item.get("title")):
        entry["title"] = title
        entry["title_detail"] = {"type": "text/plain"}
    content = []
    if html := _string(item.get("content_html")):
        content.append({"value": html, "type": "text/html"})
    if plain := _string(item.get("content_text")):
        content.append({"value": plain, "type": "text/plain"})
    if content:
        entry["content"] = content
    if summary := _string(item.get("summary")):
        entry["summary"] = summary
        entry["summary_detail"] = {"type": "text/plain"}
    for key, name in (("date_published", "published"), ("date_modified", "updated")):
        if raw := _string(item.get(key)):
            entry[name] = raw
            if (parsed := _rfc3339(raw)) is not None:
                entry[f"{name}_parsed"] = parsed
    if author := _author(item):
        entry["author"] = author
    tags = item.get("tags")
    if isinstance(tags, list):
        entry["tags"] = [{"term": t} for t in tags if isinstance(t, str) and t.strip()]
    return entry


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _author(item: Mapping[str, Any]) -> str:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for author in candidates:
        if isinstance(author, Mapping) and (name := _string(author.get("name"))):
            return name
    return ""


def _rfc3339(raw: str) -> time.struct_time | None:
    """A UTC ``struct_time`` like feedparser's ``*_parsed``; None for an unreadable date or one
    without a zone (RFC 3339 requires it; guessing would shift the time)."""
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC).timetuple()
