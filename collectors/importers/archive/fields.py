"""What the fields of a news archive row mean: which column holds what, dates, text.

Column names are matched case-insensitively against the usual ones when the user names none;
times are epoch seconds (or milliseconds), ISO 8601 or RFC 2822, or exactly ``--date-format``;
text has escape sequences written out as text undone (scraped archives often hold Python
``repr`` output) and is then normalised like every other source's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from collectors.importers.archive.spec import ArchiveError, ArchiveSpec
from collectors.text import single_line, to_text
from core.times import ensure_utc

# Column names tried, in order, when the user does not name one (case-insensitive).
TEXT_COLUMNS = ("text", "body", "content", "summary", "description", "selftext")
TITLE_COLUMNS = ("title", "headline", "header")
DATE_COLUMNS = (
    "published_at",
    "published",
    "date",
    "datetime",
    "created_at",
    "created_utc",
    "pubdate",
    "time",
    "timestamp",
)
URL_COLUMNS = ("url", "link", "permalink", "href")
ID_COLUMNS = ("id", "guid", "uid")
AUTHOR_COLUMNS = ("author", "byline", "creator")
MAX_URL = 2000


# --- text cleaning -----------------------------------------------------------------------

_LITERAL_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|r\\n|[rnt])")


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in ("n", "r", "t", "r\\n"):
        return " "
    value = int(code[1:], 16)
    if code[0] == "u":
        return chr(value)
    if value == 0xA0:
        return " "
    if 0x80 <= value <= 0xBF:
        # A scraped UTF-8 punctuation mark (U+2000..U+203F: dashes, quotes, ellipsis) whose
        # two lead bytes were lost: "\x9c" was the last byte of "\xe2\x80\x9c", i.e. "“".
        return chr(0x2000 + value - 0x80)
    return chr(value) if value >= 0x20 else " "


def unescape_literals(text: str) -> str:
    """Turn escape sequences written out as text (``\\xa0``, ``\\u200b``, ``\\r\\n``) back into
    characters. Scraped archives often hold Python ``repr`` output instead of the text."""
    return _LITERAL_ESCAPE.sub(_unescape, text) if "\\" in text else text


def archive_text(raw: object) -> str:
    """The project's normal text form for an archive field: literal escapes undone, then
    HTML or plain text normalised like every other source's."""
    if raw is None:
        return ""
    return to_text(unescape_literals(raw if isinstance(raw, str) else str(raw)))


def archive_title(raw: object) -> str:
    return single_line(archive_text(raw))


# --- dates -------------------------------------------------------------------------------


def parse_date(value: object, date_format: str | None = None) -> datetime:
    """An archive's time as an aware UTC datetime; naive times are taken as UTC.

    Accepts epoch seconds (or milliseconds), ISO 8601 and RFC 2822, or exactly
    ``date_format`` (``strptime`` syntax) when given. Raises ValueError otherwise.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("empty date")
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text = str(value).strip()
    if date_format:
        return ensure_utc(datetime.strptime(text, date_format))  # noqa: DTZ007 - made UTC
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        return ensure_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return ensure_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"unrecognised date {text[:60]!r}; pass --date-format") from None


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if not seconds > 0:
        raise ValueError(f"not a plausible timestamp: {seconds}")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"not a plausible timestamp: {seconds}") from None


# --- column mapping ----------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Which field holds which part of a news row."""

    text: str | None
    title: str | None
    date: str | None
    url: str | None
    id: str | None
    author: str | None

    @classmethod
    def resolve(cls, spec: ArchiveSpec, header: Sequence[str] | None) -> Columns:
        """Match the user's names (or the usual ones) against a CSV header.

        For JSONL (``header`` None) the names are looked up in each object instead.
        """

        def pick(given: str | None, candidates: Sequence[str], role: str) -> str | None:
            if header is None:
                return given
            by_lower = {h.strip().lower(): h for h in header}
            if given is not None:
                if given in header:
                    return given
                if given.lower() in by_lower:
                    return by_lower[given.lower()]
                raise ArchiveError(
                    f"--{role}-col {given!r} is not a column of {spec.path.name}; "
                    f"columns: {', '.join(header)}"
                )
            return next((by_lower[c] for c in candidates if c in by_lower), None)

        cols = cls(
            text=pick(spec.text_col, TEXT_COLUMNS, "text"),
            title=pick(spec.title_col, TITLE_COLUMNS, "title"),
            date=pick(spec.date_col, DATE_COLUMNS, "date"),
            url=pick(spec.url_col, URL_COLUMNS, "url"),
            id=pick(spec.id_col, ID_COLUMNS, "id"),
            author=pick(None, AUTHOR_COLUMNS, "author"),
        )
        if header is not None:
            if cols.text is None and cols.title is None:
                raise ArchiveError(
                    f"no text or title column in {spec.path.name}; pass --text-col "
                    f"(columns: {', '.join(header)})"
                )
            if cols.date is None:
                raise ArchiveError(
                    f"no date column in {spec.path.name}; pass --date-col "
                    f"(columns: {', '.join(header)})"
                )
        return cols


def lookup(row: Mapping[str, Any], given: str | None, candidates: Sequence[str]) -> Any:
    """A JSON object's field: the given name (dots walk into nested objects), else the first
    usual name present."""
    if given is not None:
        value: Any = row
        for part in given.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value
    lower = {k.lower(): k for k in row if isinstance(k, str)}
    for name in candidates:
        if name in lower and row[lower[name]] not in (None, ""):
            return row[lower[name]]
    return None


def csv_get(row: Mapping[str, Any], column: str | None, _candidates: Sequence[str]) -> Any:
    """CSV columns were resolved against the header up front; an unmapped role is empty."""
    return row.get(column) if column is not None else None


def http_url(value: object) -> str | None:
    """``value`` when it is an http(s) URL short enough to store, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= MAX_URL else None
