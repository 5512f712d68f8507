"""What the market-data CSV importers share: reading exchange-export text, the error that
refuses a file, and the import report.

Exchange and on-chain exports arrive with URL banners, CRLF line ends, padded fields and every
charset; :func:`read_text` decodes them and splits lines the way the csv module does (CR, LF or
CRLF; never at the other characters :meth:`str.splitlines` would break at), and notes a bare
carriage return inside a file whose lines end with LF, which silently splits a header in two.
Every defect an importer finds goes into an :class:`ImportReport` with a count, the action taken
and an example or date range; a file that cannot be trusted as a whole is refused with
:class:`MarketCsvError`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from core.errors import UserFacingError
from core.records import IngestWarning

MAX_EXAMPLES = 3
MAX_RANGES = 20
_LINE_END = re.compile(r"\r\n|\r|\n")
_BARE_CR = re.compile(r"\r(?!\n)")


class MarketCsvError(UserFacingError, ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


@dataclass
class Defect:
    """One kind of problem found in a file: how often, what was done, where."""

    code: str
    action: str
    count: int = 0
    detail: str = ""
    first: str | None = None
    last: str | None = None
    examples: list[str] = field(default_factory=list)
    ranges: list[dict[str, Any]] = field(default_factory=list)

    def add(self, when: str | None, example: str | None = None) -> None:
        self.count += 1
        if when is not None:
            self.first = when if self.first is None or when < self.first else self.first
            self.last = when if self.last is None or when > self.last else self.last
        if example is not None and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "count": self.count, "action": self.action}
        for key in ("detail", "first", "last", "examples", "ranges"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclass
class ImportReport:
    """What an import read, kept, stored, and every defect it found."""

    kind: str
    file: str
    target: dict[str, Any]
    format: dict[str, Any] = field(default_factory=dict)
    rows_read: int = 0
    rows_kept: int = 0
    stored: int = 0
    already_stored: int = 0
    dry_run: bool = False
    first: str | None = None
    last: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    defects: list[Defect] = field(default_factory=list)

    def defect(self, code: str) -> Defect | None:
        return next((d for d in self.defects if d.code == code), None)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "file": self.file,
            **self.target,
            "format": self.format,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "stored": self.stored,
            "already_stored": self.already_stored,
            "dry_run": self.dry_run,
            "first": self.first,
            "last": self.last,
            **self.extra,
            "defects": [d.as_dict() for d in self.defects if d.count],
        }
        return out

    def warnings(self, source: str) -> list[IngestWarning]:
        """One stored warning per defect, so the import shows up in the source's history."""
        return [
            IngestWarning(
                source=source,
                reason=d.code,
                detail=f"{self.file}: {d.count} row(s), {d.action}"
                + (f", {d.first} .. {d.last}" if d.first else ""),
            )
            for d in self.defects
            if d.count
        ]


class Defects:
    """Defects in the order they were first seen, created on demand."""

    def __init__(self) -> None:
        self.by_code: dict[str, Defect] = {}

    def get(self, code: str, action: str, detail: str = "") -> Defect:
        if code not in self.by_code:
            self.by_code[code] = Defect(code=code, action=action, detail=detail)
        return self.by_code[code]

    def listed(self) -> list[Defect]:
        return [d for d in self.by_code.values() if d.count]


@dataclass(frozen=True)
class Hole:
    """A run of missing candles or days between two present ones."""

    after: str
    before: str
    missing: int

    def as_dict(self) -> dict[str, Any]:
        return {"after": self.after, "before": self.before, "missing": self.missing}


def report_holes(holes: Sequence[Hole], defects: Defects, unit: str) -> None:
    """Holes are reported (largest first), never filled: no candle or day is invented."""
    if not holes:
        return
    defect = defects.get(
        "gap",
        f"reported; no {unit}s invented",
        f"{sum(h.missing for h in holes)} {unit}(s) missing in {len(holes)} hole(s)",
    )
    for h in holes:
        defect.add(h.before)
    largest = sorted(holes, key=lambda h: -h.missing)
    defect.ranges = [h.as_dict() for h in largest[:MAX_RANGES]]
    defect.examples = [f"{h.after} .. {h.before}: {h.missing} missing" for h in largest][
        :MAX_EXAMPLES
    ]


# --- reading text -------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvText:
    """A file's lines, how they ended, its encoding, and where its first stray carriage
    return is (``stray_cr``: offset into the text of a CR not followed by LF, in a file that
    also ends lines with LF; None when there is none)."""

    lines: list[str]
    line_endings: str
    encoding: str
    starts: list[int] = field(default_factory=list)
    stray_cr: int | None = None

    def check_header(self, index: int, what: str = "the header") -> None:
        """Refuse the file when a stray CR stands in or before line ``index``: it split a
        line there, so the header the importer sees is not the one the file holds."""
        if self.stray_cr is None or not self.starts:
            return
        end = self.starts[index] + len(self.lines[index])
        if self.stray_cr <= end:
            line = sum(1 for s in self.starts if s <= self.stray_cr)
            raise MarketCsvError(
                f"line {line} holds a bare carriage return (CR) while the file ends its lines "
                f"with LF, so {what} is split there; delete the stray CR "
                "(e.g. tr -d '\\r' < FILE > FIXED.csv) and import again"
            )


def read_text(data: bytes) -> CsvText:
    """Decode (UTF-8, else the detected charset) and split lines, noting the line ends."""
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise MarketCsvError("the file is not text in any encoding we can detect") from None
        text, encoding = str(best), best.encoding
    crlf, lf = data.count(b"\r\n"), data.count(b"\n")
    endings = "LF" if crlf == 0 else "CRLF" if crlf == lf else "mixed"
    if lf == 0 and b"\r" in data:
        endings = "CR"
    lines: list[str] = []
    starts: list[int] = []
    at = 0
    for m in _LINE_END.finditer(text):
        starts.append(at)
        lines.append(text[at : m.start()])
        at = m.end()
    if at < len(text):
        starts.append(at)
        lines.append(text[at:])
    stray = _BARE_CR.search(text) if "\n" in text else None
    return CsvText(lines, endings, encoding, starts, stray.start() if stray else None)


def csv_fields(line: str) -> list[str]:
    """The stripped fields of one line; none when the csv module cannot read it (a field
    over its size limit): such a line is no header."""
    try:
        return [f.strip() for f in next(csv.reader([line]), [])]
    except csv.Error:
        return []


def csv_rows(lines: Iterable[str]) -> Iterator[list[str] | str]:
    """Fields of each record, stripped (exports pad with spaces and end lines with CR); a
    record the csv module cannot read comes as its error message instead."""
    reader = csv.reader(lines)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield f"not readable as CSV ({err})"
            continue
        yield [f.strip() for f in fields]


def is_blank(fields: Sequence[str]) -> bool:
    return all(not f for f in fields)


def data_rows(
    lines: Sequence[str], first_line: int, defects: Defects
) -> Iterator[tuple[int, list[str] | None]]:
    """``(line number, fields)`` of every non-blank record after the header, numbered from
    ``first_line``; a record the csv module cannot read comes with None, already counted as
    an ``unparseable-row`` defect."""
    for offset, fields in enumerate(csv_rows(lines)):
        line_no = first_line + offset
        if isinstance(fields, str):
            defects.get("unparseable-row", "dropped").add(None, f"line {line_no}: {fields}")
            yield line_no, None
        elif not is_blank(fields):
            yield line_no, fields


def parse_number(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MarketCsvError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise MarketCsvError(f"{path} is a folder, not a CSV file") from None
    except OSError as err:
        raise MarketCsvError(f"cannot read {path}: {err.strerror}") from None
