"""Rows of an archive file -> documents, or warnings naming the row.

:class:`Rows` frames a file into rows (JSON lines, or CSV records that may span lines) from a
byte offset, tracking where each row ends; :class:`RowParser` turns one row into a document.
News rows are read through the column mapping of :mod:`~collectors.importers.archive.fields`;
Reddit things through :mod:`collectors.parsers.reddit`, the reading the live collector uses,
so a dump line and a polled post give the same document.

A backfilled document's ``ingested_at`` is its ``published_at`` (the archive is our claim of
when the market could first see it), and its metadata carries the import's audit stamp,
:data:`BACKFILL_KEYS`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collectors.assets import AssetTagger
from collectors.importers.archive.fields import (
    AUTHOR_COLUMNS,
    DATE_COLUMNS,
    ID_COLUMNS,
    TEXT_COLUMNS,
    TITLE_COLUMNS,
    URL_COLUMNS,
    Columns,
    archive_text,
    archive_title,
    csv_get,
    http_url,
    lookup,
    parse_date,
)
from collectors.importers.archive.lines import MAX_LINE_BYTES, LineReader, decode_line
from collectors.importers.archive.spec import ArchiveError, ArchiveSpec, default_source
from collectors.parsers.reddit import RedditThingError, reddit_document
from collectors.text import flag_language
from core.records import Document, IngestWarning

FUTURE_SLACK = timedelta(hours=1)
# What a backfill adds to a document's metadata: that it was backfilled, when, from which
# file and row, in which format.
BACKFILL_KEYS = ("backfill", "imported_at", "archive", "row", "format")


@dataclass
class Row:
    """One parsed row: a document, or the reason it was refused (None: silently skipped)."""

    number: int
    document: Document | None = None
    warning: IngestWarning | None = None


class RowParser:
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

    def warn(self, number: int, reason: str, detail: str) -> Row:
        return Row(
            number,
            warning=IngestWarning(
                source=self.source,
                reason=reason,
                detail=f"{self.spec.path.name} row {number}: {detail}"[:2000],
            ),
        )

    def stamp(self, number: int) -> dict[str, Any]:
        """The audit stamp (:data:`BACKFILL_KEYS`) of row ``number``."""
        return {
            "backfill": True,
            "imported_at": self.imported_at.isoformat(),
            "archive": self.spec.path.name,
            "row": number,
            "format": self.spec.format,
        }

    def date(self, value: object) -> datetime:
        when = parse_date(value, self.spec.date_format)
        if when > self.latest_ok:
            raise ValueError(f"{when.isoformat()} is in the future")
        return when

    def news(self, number: int, row: Mapping[str, Any], getter: Callable[..., Any]) -> Row:
        c = self.columns
        title = archive_title(getter(row, c.title, TITLE_COLUMNS))
        text = archive_text(getter(row, c.text, TEXT_COLUMNS))
        if not text and not title:
            return self.warn(number, "missing-text", "no text and no title")
        raw_date = getter(row, c.date, DATE_COLUMNS)
        try:
            when = self.date(raw_date)
        except ValueError as err:
            return self.warn(number, "bad-date", f"{str(raw_date)[:80]!r}: {err}")
        url = http_url(getter(row, c.url, URL_COLUMNS))
        raw_id = getter(row, c.id, ID_COLUMNS)
        source_id = str(raw_id) if raw_id not in (None, "") else None
        if url is None and source_id is None:
            # No identity in the file: derive one from the content, stable across re-runs.
            source_id = hashlib.sha256(f"{title}\n{text}\n{when.isoformat()}".encode()).hexdigest()[
                :32
            ]
        author = getter(row, None, AUTHOR_COLUMNS)
        meta = self.stamp(number)
        lang = flag_language(meta, title, text)
        return Row(
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
                lang=lang,
                metadata=meta,
            ),
        )

    def reddit(self, number: int, obj: Mapping[str, Any]) -> Row:
        """A dump line: a submission or comment, read as the live collector reads it.

        Deleted and removed things are skipped silently, as the live collector skips them.
        """
        sub = str(obj.get("subreddit") or "").strip()
        source = self.spec.source or (f"reddit:{sub}" if sub else "reddit")
        try:
            doc = reddit_document(
                obj, source=source, ingested_at=self.imported_at, tagger=self.tagger
            )
        except RedditThingError as err:
            return self.warn(number, err.reason, err.detail)
        except (TypeError, ValueError) as err:
            return self.warn(number, "bad-thing", f"{type(err).__name__}: {err}")
        if doc is None:
            return Row(number)
        if doc.published_at > self.latest_ok:
            return self.warn(number, "bad-date", f"{doc.published_at.isoformat()} is in the future")
        update = {
            "ingested_at": doc.published_at,
            "metadata": {**doc.metadata, **self.stamp(number)},
        }
        return Row(number, document=doc.model_copy(update=update))


class Rows:
    """Parsed rows of one file from a byte offset, tracking where each row ends."""

    def __init__(
        self,
        spec: ArchiveSpec,
        parser: RowParser,
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

    def __iter__(self) -> Iterator[Row]:
        if self.spec.format == "news-csv":
            yield from self._csv()
        else:
            yield from self._jsonl()

    def _jsonl(self) -> Iterator[Row]:
        first = self.reader.offset == 0
        for raw in self.reader:
            self.end_offset = self.reader.offset
            line, replaced = decode_line(raw, first)
            first = False
            if not line.strip() and raw:
                continue  # blank line: not a row
            self.row += 1
            yield self._json_row(self.row, line, replaced, oversized=not raw)

    def _json_row(self, number: int, line: str, replaced: bool, *, oversized: bool) -> Row:
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
            p.reddit(number, obj) if self.spec.format == "reddit" else p.news(number, obj, lookup)
        )
        return flag_utf8(result) if replaced else result

    def _csv(self) -> Iterator[Row]:
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
            result = self.parser.news(self.row, dict(zip(header, values, strict=True)), csv_get)
            yield flag_utf8(result) if "bad-utf8" in flags else result

    def _csv_lines(self) -> Iterator[str]:
        """Decoded lines for the csv module, noting replaced bytes and oversized lines in
        ``_line_flags`` for the row they end up in."""
        first = self.reader.offset == 0
        for raw in self.reader:
            line, replaced = decode_line(raw, first)
            first = False
            if not raw:
                self._line_flags.add("oversized")
                line = "\n"
            if replaced:
                self._line_flags.add("bad-utf8")
            yield line


def flag_utf8(result: Row) -> Row:
    """Mark a row's document as read with replacement characters."""
    if result.document is not None:
        doc = result.document
        result.document = doc.model_copy(update={"warnings": (*doc.warnings, "bad-utf8")})
    return result


def csv_header(spec: ArchiveSpec) -> tuple[list[str], str]:
    """The header row and the delimiter (given, or sniffed from the header line).

    Raises :class:`ArchiveError` for a header that cannot be read, most often one split by a
    bare carriage return: a file with old Mac (CR-only) line ends, or a stray CR pasted into
    the header. Lines end at LF here, so such a "line" would be read as garbage.
    """
    with LineReader(spec.path) as reader:
        first = next(iter(reader), b"")
    line, _ = decode_line(first, True)
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
    try:
        header = next(csv.reader([line], delimiter=delimiter))
    except csv.Error as err:
        bare_cr = line.rstrip("\r\n").find("\r")
        if bare_cr >= 0:
            fix = (
                "delete the stray CR (e.g. tr -d '\\r' < FILE > FIXED)"
                if line.endswith("\n")
                else "the file uses old Mac (CR-only) line ends: convert them (e.g. mac2unix FILE)"
            )
            raise ArchiveError(
                f"{spec.path.name}: the header line holds a bare carriage return (CR) at "
                f"character {bare_cr + 1}; {fix} and run again"
            ) from None
        raise ArchiveError(
            f"{spec.path.name}: the header line is not readable CSV ({err})"
        ) from None
    return [h.strip() for h in header], delimiter
