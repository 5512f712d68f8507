"""Backfill from archives: JSONL/CSV news files and Reddit dumps, with their original times.

Why this module exists: a user should be able to build years of sentiment history in one
command, and an interrupted import must pick up where it stopped without duplicates or gaps.

Rules (see docs/news.md):

* ``published_at`` is the time the archive gives for the row. Because every index is as-of
  by ``ingested_at``, a backfilled document's ``ingested_at`` is set to its ``published_at``:
  the archive is our claim of when the market could first see the item. ``metadata`` carries
  ``backfill=true`` and ``imported_at`` (when this import ran) so the claim stays auditable.
* Files are streamed line by line (``.zst`` through :mod:`zstandard`), never loaded whole.
* Rows are written in batches, each in one transaction (``store.documents.add``). Only
  after a batch is committed is the byte offset just past its last row saved as the
  source's cursor, keyed by the file's sha256, so a killed import resumes at the first row
  not yet committed. Store writes are idempotent, so a re-run (or a crash between the batch
  and its cursor) re-reads at most one batch and stores nothing twice.
* A bad row (broken JSON, no text, a date that does not parse) becomes an
  :class:`IngestWarning` naming the row; the import carries on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, Literal

from tqdm import tqdm

from collectors.assets import AssetTagger
from collectors.text import detect_language, single_line, to_text
from core.records import Document, IngestWarning, SourceFamily
from core.store import Store
from core.times import ensure_utc, utcnow

log = logging.getLogger(__name__)

ArchiveFormat = Literal["news-jsonl", "news-csv", "reddit"]
FORMATS: tuple[str, ...] = ("news-jsonl", "news-csv", "reddit")

MAX_LINE_BYTES = 8 * 1024 * 1024  # a longer "line" is a broken file, not a news item
ZSTD_MAX_WINDOW = 2**31  # Pushshift dumps are compressed with --long=31
FUTURE_SLACK = timedelta(hours=1)
_HASH_CHUNK = 1024 * 1024
PROBE_ROWS = 20  # rows read ahead to catch wrong options before anything is written

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

_REDDIT = "https://www.reddit.com"
_REDDIT_GONE = frozenset({"[deleted]", "[removed]", "[deleted by user]"})


class ArchiveError(ValueError):
    """The archive or the options cannot be used at all (missing file, unknown column)."""


@dataclass(frozen=True)
class ArchiveSpec:
    """What to import and how to read it; None means: find it out from the file."""

    path: Path
    format: ArchiveFormat
    source: str | None = None
    text_col: str | None = None
    title_col: str | None = None
    date_col: str | None = None
    url_col: str | None = None
    id_col: str | None = None
    date_format: str | None = None
    delimiter: str | None = None
    batch_size: int = 500
    max_batches: int | None = None  # stop after this many committed batches (a partial run)
    restart: bool = False  # read the file from the start even if it was imported before

    @property
    def state_name(self) -> str:
        """The source-state row holding this import's progress."""
        return f"backfill:{self.source or default_source(self.path, self.format)}"


@dataclass
class BackfillSummary:
    """What one run did; printed by ``cryptosense backfill``."""

    source: str
    file: str
    sha256: str
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    warnings: int = 0
    batches: int = 0
    resumed_at_row: int = 0
    complete: bool = False
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Row:
    """One parsed row: a document, or the reason it was refused (None: silently skipped)."""

    number: int
    document: Document | None = None
    warning: IngestWarning | None = None


@dataclass
class _Batch:
    documents: list[Document] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    skipped: int = 0
    rows: int = 0
    last_row: int = 0
    end_offset: int = 0


def default_source(path: Path, fmt: str) -> str:
    """``archive:<file stem>`` for news; ``reddit`` for dumps (rows then name their subreddit)."""
    if fmt == "reddit":
        return "reddit"
    name = path.name
    for suffix in (".zst", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return f"archive:{name or 'file'}"


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
    if seconds <= 0:
        raise ValueError(f"not a plausible timestamp: {seconds}")
    return datetime.fromtimestamp(seconds, UTC)


# --- file reading ------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LineReader:
    """Lines of a plain or ``.zst`` file with the (decompressed) byte offset after each.

    ``raw_position`` is how far into the file on disk the reader is: the progress bar's
    unit. A ``.zst`` stream cannot seek, so resuming decompresses and discards up to the
    saved offset (fast: no parsing happens there).
    """

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self._raw: IO[bytes] = path.open("rb")
        self._stream: IO[bytes]
        if path.suffix == ".zst":
            import zstandard

            reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
                self._raw, read_across_frames=True
            )
            self._stream = io.BufferedReader(reader, buffer_size=_HASH_CHUNK)
            self._skip(offset)
        else:
            self._raw.seek(offset)
            self._stream = self._raw
        self.offset = offset

    def _skip(self, offset: int) -> None:
        left = offset
        while left > 0:
            chunk = self._stream.read(min(left, _HASH_CHUNK))
            if not chunk:
                raise ArchiveError(f"{self.path} is shorter than the saved offset {offset}")
            left -= len(chunk)

    @property
    def raw_position(self) -> int:
        return self._raw.tell()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self._stream.readline(MAX_LINE_BYTES)
            if not line:
                return
            self.offset += len(line)
            if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
                # Oversized row: swallow the rest of it and hand back a marker.
                while (more := self._stream.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                    self.offset += len(more)
                self.offset += len(more)
                yield b""
                continue
            yield line

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode(line: bytes, first: bool) -> tuple[str, bool]:
    """UTF-8 text of a line, and whether bytes had to be replaced."""
    if first and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    try:
        return line.decode("utf-8"), False
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace"), True


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


def _lookup(row: Mapping[str, Any], given: str | None, candidates: Sequence[str]) -> Any:
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


# --- row parsing -------------------------------------------------------------------------


class _RowParser:
    """Turns one raw row into a :class:`Document`, or a warning naming the row."""

    def __init__(
        self, spec: ArchiveSpec, tagger: AssetTagger, imported_at: datetime, columns: Columns
    ) -> None:
        self.spec = spec
        self.tagger = tagger
        self.columns = columns
        self.imported_at = imported_at
        self.source = spec.source or default_source(spec.path, spec.format)
        self.latest_ok = imported_at + FUTURE_SLACK
        self.base_meta = {
            "backfill": True,
            "imported_at": imported_at.isoformat(),
            "archive": spec.path.name,
        }

    def warn(self, number: int, reason: str, detail: str) -> _Row:
        return _Row(
            number,
            warning=IngestWarning(
                source=self.source,
                reason=reason,
                detail=f"{self.spec.path.name} row {number}: {detail}"[:2000],
            ),
        )

    def date(self, value: object) -> datetime:
        when = parse_date(value, self.spec.date_format)
        if when > self.latest_ok:
            raise ValueError(f"{when.isoformat()} is in the future")
        return when

    def news(self, number: int, row: Mapping[str, Any], getter: Callable[..., Any]) -> _Row:
        c, spec = self.columns, self.spec
        title = archive_title(getter(row, c.title, TITLE_COLUMNS))
        text = archive_text(getter(row, c.text, TEXT_COLUMNS))
        if not text and not title:
            return self.warn(number, "missing-text", "no text and no title")
        raw_date = getter(row, c.date, DATE_COLUMNS)
        try:
            when = self.date(raw_date)
        except ValueError as err:
            return self.warn(number, "bad-date", f"{str(raw_date)[:80]!r}: {err}")
        url = _http_url(getter(row, c.url, URL_COLUMNS))
        raw_id = getter(row, c.id, ID_COLUMNS)
        source_id = str(raw_id) if raw_id not in (None, "") else None
        if url is None and source_id is None:
            # No identity in the file: derive one from the content, stable across re-runs.
            source_id = hashlib.sha256(f"{title}\n{text}\n{when.isoformat()}".encode()).hexdigest()[
                :32
            ]
        author = getter(row, None, AUTHOR_COLUMNS)
        meta = {**self.base_meta, "row": number, "format": spec.format}
        return _Row(
            number,
            document=Document.build(
                source=self.source,
                url=url,
                source_id=source_id,
                title=title,
                text=text,
                author=str(author)[:300] if author else None,
                published_at=when,
                ingested_at=when,
                assets=self.tagger.tag(f"{title}\n{text}"),
                lang=_language(f"{title}. {text}" if title and text else title or text, meta),
                metadata=meta,
            ),
        )

    def reddit(self, number: int, obj: Mapping[str, Any]) -> _Row:
        is_comment = "body" in obj and "title" not in obj
        thing_id = str(obj.get("id") or "").strip()
        if not thing_id:
            return self.warn(number, "missing-id", "a Reddit thing without an id")
        try:
            when = self.date(obj.get("created_utc", obj.get("created")))
        except ValueError as err:
            return self.warn(number, "bad-date", str(err))
        sub = str(obj.get("subreddit") or "").strip()
        source = self.spec.source or (f"reddit:{sub}" if sub else "reddit")
        author = str(obj.get("author") or "") or None
        if author in _REDDIT_GONE:
            author = None
        if _reddit_gone(obj, "body" if is_comment else "selftext"):
            return _Row(number)  # deleted or removed, as the live Reddit collector skips it
        if is_comment:
            title = ""
            text = _reddit_text(obj.get("body"))
            if not text:
                return _Row(number)
            link_id = str(obj.get("link_id") or "").removeprefix("t3_")
            # The same link the live Reddit collector builds, so ids agree with it.
            url = _reddit_permalink(obj) or (
                f"{_REDDIT}/comments/{link_id}/_/{thing_id}" if link_id else None
            )
            kind, source_id = "comment", f"t1_{thing_id}"
        else:
            title = single_line(_reddit_text(obj.get("title")))
            text = _reddit_text(obj.get("selftext"))
            if not title and not text:
                return self.warn(number, "missing-text", f"submission {thing_id} has no text")
            url = _reddit_permalink(obj) or f"{_REDDIT}/comments/{thing_id}"
            kind, source_id = "submission", f"t3_{thing_id}"
        meta: dict[str, Any] = {
            **self.base_meta,
            "row": number,
            "format": "reddit",
            "kind": kind,
            "is_comment": is_comment,
            "subreddit": sub,
            "score": _int(obj.get("score")),
            "num_comments": _int(obj.get("num_comments")),
        }
        for key in ("link_id", "parent_id"):
            if obj.get(key):
                meta[key] = str(obj[key])
        if not is_comment and not obj.get("is_self", True) and _http_url(obj.get("url")):
            meta["link_url"] = obj["url"]
        return _Row(
            number,
            document=Document.build(
                source=source,
                family=SourceFamily.REDDIT,
                url=url,
                source_id=source_id,
                title=title,
                text=text,
                author=author[:300] if author else None,
                published_at=when,
                ingested_at=when,
                assets=self.tagger.tag(f"{title}\n{text}"),
                lang=_language(f"{title}. {text}" if title else text, meta),
                metadata=meta,
            ),
        )


def _language(text: str, meta: dict[str, Any]) -> str | None:
    """The text's language; non-English text is kept but flagged, as every source does."""
    lang = detect_language(text)
    if lang is not None and lang != "en":
        meta["non_english"] = True
    return lang


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= 2000 else None


def _reddit_permalink(obj: Mapping[str, Any]) -> str | None:
    link = obj.get("permalink")
    if isinstance(link, str) and link.startswith("/"):
        return _REDDIT + link
    return _http_url(link)


def _reddit_gone(obj: Mapping[str, Any], body_key: str) -> bool:
    """Deleted by its author or removed by moderators, admins or the spam filter."""
    return bool(obj.get("removed_by_category")) or str(obj.get(body_key) or "").strip() in (
        _REDDIT_GONE
    )


def _reddit_text(raw: object) -> str:
    """Reddit bodies are Markdown with HTML entities, never HTML: unescaped, not parsed."""
    if raw is None:
        return ""
    return to_text(unescape_literals(str(raw)), is_html=False)


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


# --- the import --------------------------------------------------------------------------


class _Rows:
    """Iterate parsed rows of one file from a byte offset, tracking where each row ends."""

    def __init__(
        self,
        spec: ArchiveSpec,
        parser: _RowParser,
        offset: int,
        row: int,
        csv_layout: tuple[list[str], str] = ([], ","),
    ) -> None:
        self.spec = spec
        self.parser = parser
        self.header, self.delimiter = csv_layout
        self.reader = LineReader(spec.path, offset)
        self.row = row
        self.end_offset = offset
        self._line_flags: set[str] = set()

    def close(self) -> None:
        self.reader.close()

    def __iter__(self) -> Iterator[_Row]:
        if self.spec.format == "news-csv":
            yield from self._csv()
        else:
            yield from self._jsonl()

    def _jsonl(self) -> Iterator[_Row]:
        first = self.reader.offset == 0
        for raw in self.reader:
            self.end_offset = self.reader.offset
            line, replaced = _decode(raw, first)
            first = False
            if not line.strip() and raw:
                continue  # blank line: not a row
            self.row += 1
            yield self._json_row(self.row, line, replaced, oversized=not raw)

    def _json_row(self, number: int, line: str, replaced: bool, *, oversized: bool) -> _Row:
        p = self.parser
        if oversized:
            return p.warn(number, "oversized-row", f"longer than {MAX_LINE_BYTES} bytes")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            return p.warn(number, "bad-json", f"{err.msg} at column {err.colno}")
        if not isinstance(obj, dict):
            return p.warn(number, "bad-json", f"a JSON {type(obj).__name__}, not an object")
        result = (
            p.reddit(number, obj) if self.spec.format == "reddit" else p.news(number, obj, _lookup)
        )
        return _flag_utf8(result) if replaced else result

    def _csv(self) -> Iterator[_Row]:
        header = self.header
        lines = self._csv_lines()
        if self.reader.offset == 0:
            next(csv.reader(lines, delimiter=self.delimiter), None)  # the header
        self._line_flags.clear()
        reader = csv.reader(lines, delimiter=self.delimiter)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                self.row += 1
                self.end_offset = self.reader.offset
                self._line_flags.clear()
                yield self.parser.warn(self.row, "bad-csv", str(err))
                continue
            self.end_offset = self.reader.offset
            flags, self._line_flags = self._line_flags, set()
            if "oversized" in flags:
                self.row += 1
                yield self.parser.warn(
                    self.row, "oversized-row", f"a line longer than {MAX_LINE_BYTES} bytes"
                )
                continue
            if not values or all(not v.strip() for v in values):
                continue
            self.row += 1
            if len(values) != len(header):
                yield self.parser.warn(
                    self.row,
                    "bad-csv",
                    f"{len(values)} fields, the header has {len(header)}",
                )
                continue
            result = self.parser.news(self.row, dict(zip(header, values, strict=True)), _csv_get)
            yield _flag_utf8(result) if "bad-utf8" in flags else result

    def _csv_lines(self) -> Iterator[str]:
        """Decoded lines for the csv module, noting replaced bytes and oversized lines in
        ``_line_flags`` for the row they end up in."""
        first = self.reader.offset == 0
        for raw in self.reader:
            line, replaced = _decode(raw, first)
            first = False
            if not raw:
                self._line_flags.add("oversized")
                line = "\n"
            if replaced:
                self._line_flags.add("bad-utf8")
            yield line


def _flag_utf8(result: _Row) -> _Row:
    """Mark a row's document as read with replacement characters."""
    if result.document is not None:
        doc = result.document
        result.document = doc.model_copy(update={"warnings": (*doc.warnings, "bad-utf8")})
    return result


def _csv_get(row: Mapping[str, Any], column: str | None, _candidates: Sequence[str]) -> Any:
    """CSV columns were resolved against the header up front; an unmapped role is empty."""
    return row.get(column) if column is not None else None


def _csv_header(spec: ArchiveSpec) -> tuple[list[str], str]:
    """The header row and the delimiter (given, or sniffed from the header line)."""
    with LineReader(spec.path) as reader:
        first = next(iter(reader), b"")
    line, _ = _decode(first, True)
    if not line.strip():
        raise ArchiveError(f"{spec.path.name} is empty")
    delimiter = spec.delimiter
    if delimiter is None:
        counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=lambda d: counts[d])
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ArchiveError(f"--delimiter must be one character, not {delimiter!r}")
    header = next(csv.reader([line], delimiter=delimiter))
    return [h.strip() for h in header], delimiter


def backfill(
    store: Store,
    spec: ArchiveSpec,
    tagger: AssetTagger,
    *,
    progress: bool | None = None,
    now: datetime | None = None,
) -> BackfillSummary:
    """Import ``spec.path`` into ``store``, resuming from the saved offset for this file.

    ``progress``: show a tqdm bar (None: only when stderr is a terminal).
    """
    path = spec.path
    if spec.format not in FORMATS:
        raise ArchiveError(f"unknown format {spec.format!r}; known: {', '.join(FORMATS)}")
    if not path.is_file():
        raise ArchiveError(f"{path} is not a file")
    if spec.batch_size < 1:
        raise ArchiveError("--batch-size must be at least 1")
    started = time.monotonic()
    stat = path.stat()
    state_name = spec.state_name
    saved = dict(store.sources.state(state_name).cursor or {})
    sha = _fingerprint(path, stat, saved)
    entry = dict(saved.get("files", {}).get(sha, {}))
    summary = BackfillSummary(
        source=spec.source or default_source(path, spec.format), file=str(path), sha256=sha
    )
    if entry.get("done") and not spec.restart:
        log.info("%s was imported completely before (sha256 %s); nothing to do", path, sha[:12])
        summary.complete = True
        summary.resumed_at_row = int(entry.get("row", 0))
        return summary
    offset = 0 if spec.restart else int(entry.get("offset", 0))
    row = 0 if spec.restart else int(entry.get("row", 0))
    summary.resumed_at_row = row
    if offset:
        log.info("%s: resuming after row %d (byte %d)", path.name, row, offset)

    layout = _csv_header(spec) if spec.format == "news-csv" else None
    columns = Columns.resolve(spec, layout[0] if layout else None)
    parser = _RowParser(spec, tagger, now or utcnow(), columns)
    _probe(_Rows(spec, parser, offset, row, layout or ([], ",")))
    rows = _Rows(spec, parser, offset, row, layout or ([], ","))
    bar = tqdm(
        total=stat.st_size,
        initial=rows.reader.raw_position,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=path.name,
        disable=None if progress is None else not progress,
        leave=False,
    )
    batch = _Batch(end_offset=offset, last_row=row)
    complete = True
    try:
        for parsed in rows:
            _add(batch, parsed)
            batch.end_offset, batch.last_row = rows.end_offset, rows.row
            if batch.rows >= spec.batch_size:
                _commit(store, spec, sha, stat.st_size, batch, summary, done=False)
                bar.update(rows.reader.raw_position - bar.n)
                batch = _Batch(end_offset=rows.end_offset, last_row=rows.row)
                if spec.max_batches is not None and summary.batches >= spec.max_batches:
                    complete = False
                    break
        batch.end_offset, batch.last_row = rows.end_offset, rows.row
        _commit(store, spec, sha, stat.st_size, batch, summary, done=complete)
        bar.update(rows.reader.raw_position - bar.n)
    finally:
        bar.close()
        rows.close()
    summary.complete = complete
    summary.elapsed_s = round(time.monotonic() - started, 3)
    log.info(
        "%s: %d rows read, %d stored, %d duplicates, %d skipped, %d warnings%s",
        path.name,
        summary.rows_read,
        summary.stored,
        summary.duplicates,
        summary.skipped,
        summary.warnings,
        "" if complete else " (stopped early; run again to continue)",
    )
    return summary


def _probe(probe: _Rows) -> None:
    """Refuse up front when none of the first rows can be read.

    A wrong ``--format``, ``--date-format`` or ``--date-col`` would otherwise turn every row
    into a warning and move the saved offset past rows that a corrected run would then not
    read again (short of ``--restart``).
    """
    try:
        first = list(itertools.islice(probe, PROBE_ROWS))
    finally:
        probe.close()
    read = [r for r in first if r.document is not None or r.warning is not None]
    refused = [r.warning for r in read if r.warning is not None]
    if len(refused) < 3 or len(refused) != len(read):
        return
    if all(w.reason == "bad-date" for w in refused):
        raise ArchiveError(
            f"none of the first {len(read)} rows has a date that parses "
            f"(e.g. {refused[0].detail}); check --date-col and --date-format"
        )
    raise ArchiveError(
        f"none of the first {len(read)} rows could be read (e.g. {refused[0].reason}: "
        f"{refused[0].detail}); check --format and the column options"
    )


def _fingerprint(path: Path, stat: Any, saved: Mapping[str, Any]) -> str:
    """The file's sha256, reused from the cursor when size and mtime show it unchanged."""
    for sha, entry in (saved.get("files") or {}).items():
        if (
            entry.get("path") == str(path.resolve())
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
        ):
            return str(sha)
    return file_sha256(path)


def _add(batch: _Batch, parsed: _Row) -> None:
    batch.rows += 1
    if parsed.document is not None:
        batch.documents.append(parsed.document)
    elif parsed.warning is not None:
        batch.warnings.append(parsed.warning)
    else:
        batch.skipped += 1


def _commit(
    store: Store,
    spec: ArchiveSpec,
    sha: str,
    size: int,
    batch: _Batch,
    summary: BackfillSummary,
    *,
    done: bool,
) -> None:
    """Write one batch, then (only then) move the file's saved offset past it."""
    result = store.documents.add(batch.documents)
    store.sources.add_warnings(batch.warnings)
    stat = spec.path.stat()
    state = store.sources.state(spec.state_name)
    cursor = dict(state.cursor or {})
    files = dict(cursor.get("files") or {})
    files[sha] = {
        "path": str(spec.path.resolve()),
        "size": size,
        "mtime_ns": stat.st_mtime_ns,
        "offset": batch.end_offset,
        "row": batch.last_row,
        "done": done,
        "updated_at": utcnow().isoformat(),
    }
    cursor["files"] = files
    store.sources.record_result(spec.state_name, ok=True, items=result.new, cursor=cursor)
    summary.rows_read += batch.rows
    summary.stored += result.new
    summary.duplicates += result.duplicates + result.merged
    summary.skipped += batch.skipped
    summary.warnings += len(batch.warnings)
    if batch.rows:
        summary.batches += 1
