"""CSV import for exchange OHLCV exports, with defect repair, and the import report shared
with the on-chain importer (:mod:`collectors.onchain_csv`).

Exchange exports (CryptoDataDownload / Bitstamp and similar) arrive with a URL banner above
the header, newest-first rows, CRLF line ends, 12-hour dates such as ``2020-02-13 01-AM``,
unix times in seconds or milliseconds, and real defects: duplicated rows, holes, zero
prices, high/low that do not contain open/close, and base/quote volume columns swapped on
part of the file. Every defect is either repaired or the row dropped, and always reported
with a count and an example or date range; a file that cannot be trusted as a whole (no
header, wrong pair, wrong timeframe) is refused with :class:`MarketCsvError`. Nothing here
invents a candle: holes are reported, never filled.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from collectors.market import from_epoch, iso, timeframe_seconds
from core.records import Candle, IngestWarning
from core.store import Store

log = logging.getLogger(__name__)

HEADER_SEARCH_LINES = 5
MAX_EXAMPLES = 3
MAX_RANGES = 20
# The quote volume divided by the base volume is the candle's average trade price, which
# must lie between its low and high; this slack absorbs rounding of small volumes.
VOLUME_PRICE_TOLERANCE = 0.05
# The newest row of an export is often the still-open candle: far less volume than usual.
INCOMPLETE_VOLUME_RATIO = 0.2
INCOMPLETE_LOOKBACK = 24
PRICE_JUMP_RATIO = 0.5
REFUSE_BAD_SHARE = 0.5

UNIX_COLUMNS = ("unix", "unix timestamp", "timestamp")
DATE_COLUMNS = ("date", "datetime", "time")
# Tried after ISO 8601 (``2022-08-20 00:00:00``), which datetime.fromisoformat reads fast.
DATE_FORMATS = (
    "%Y-%m-%d %I-%p",
    "%Y-%m-%d %I %p",
    "%Y-%m-%d %I:%M %p",
    "%Y-%m-%d %I:%M:%S %p",
)
KNOWN_QUOTES = ("USDT", "USDC", "BUSD", "USD", "EUR", "GBP", "JPY", "BTC", "ETH")


class MarketCsvError(ValueError):
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
    lines: list[str]
    line_endings: str
    encoding: str


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
    return CsvText(text.splitlines(), endings, encoding)


def csv_fields(line: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([line]), [])]


def csv_rows(lines: Iterable[str]) -> Iterator[list[str]]:
    """Fields of each line, stripped (exports pad with spaces and end lines with CR)."""
    for fields in csv.reader(lines):
        yield [f.strip() for f in fields]


def is_blank(fields: Sequence[str]) -> bool:
    return all(not f for f in fields)


def parse_number(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {raw!r}")
    return value


# --- prices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    unix: int | None
    date: int | None
    symbol: int | None
    open: int
    high: int
    low: int
    close: int
    volume_base: int | None
    volume_quote: int | None
    width: int
    names: dict[str, str]


@dataclass(frozen=True)
class _Row:
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume_base: float
    volume_quote: float | None
    line: int

    @property
    def when(self) -> str:
        return iso(from_epoch(self.ts))

    def values(self) -> tuple[float, ...]:
        vq = -1.0 if self.volume_quote is None else self.volume_quote
        return (self.open, self.high, self.low, self.close, self.volume_base, vq)


@dataclass
class PriceImport:
    report: ImportReport
    candles: list[Candle]


def split_pair(pair: str) -> tuple[str, str]:
    """``BTC/USD``, ``btc-usd`` or ``BTCUSD`` -> ``("BTC", "USD")``."""
    raw = pair.strip().upper()
    for sep in ("/", "-", "_", ":"):
        if sep in raw:
            base, quote = raw.split(sep, 1)
            if base and quote:
                return base, quote
    for quote in KNOWN_QUOTES:
        if raw.endswith(quote) and len(raw) > len(quote):
            return raw[: -len(quote)], quote
    raise MarketCsvError(f"cannot read {pair!r} as a pair; write it like BTC/USD")


def _pair_key(pair: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", pair.upper())


def _find_header(lines: Sequence[str]) -> tuple[int, list[str]]:
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        names = [f.lower() for f in csv_fields(line)]
        has_time = any(n in UNIX_COLUMNS or n in DATE_COLUMNS for n in names)
        if has_time and {"open", "high", "low", "close"} <= set(names):
            return i, csv_fields(line)
    raise MarketCsvError(
        f"no header with a date or unix column and open/high/low/close in the first "
        f"{HEADER_SEARCH_LINES} lines; is this an OHLCV export?"
    )


def _volume_columns(
    header: Sequence[str], base: str, quote: str
) -> tuple[int | None, int | None, dict[str, str]]:
    """Which column is the base and which the quote volume, by their labels.

    A label naming neither side of the pair means the file is for another market or
    mislabelled, and is refused rather than guessed.
    """
    vb = vq = None
    names: dict[str, str] = {}
    for i, name in enumerate(header):
        low = name.lower()
        if not low.startswith("volume"):
            continue
        suffix = name[len("volume") :].strip(" _-").upper()
        if suffix in ("", base, "BASE", "FROM"):
            vb, names["volume_base"] = i, name
        elif suffix in (quote, "QUOTE", "TO"):
            vq, names["volume_quote"] = i, name
        else:
            raise MarketCsvError(
                f"volume column {name!r} names neither {base} nor {quote}: the file is for "
                f"another pair or its columns are mislabelled; check --pair"
            )
    return vb, vq, names


def _columns(header: Sequence[str], pair: str) -> _Columns:
    index = {name.lower(): i for i, name in enumerate(header)}
    base, quote = split_pair(pair)
    vb, vq, names = _volume_columns(header, base, quote)
    unix = next((index[c] for c in UNIX_COLUMNS if c in index), None)
    when = next((index[c] for c in DATE_COLUMNS if c in index), None)
    for key, col in (("unix", unix), ("date", when)):
        if col is not None:
            names[key] = header[col]
    return _Columns(
        unix=unix,
        date=when,
        symbol=index.get("symbol"),
        open=index["open"],
        high=index["high"],
        low=index["low"],
        close=index["close"],
        volume_base=vb,
        volume_quote=vq,
        width=len(header),
        names=names,
    )


class _DateParser:
    """Parses the file's date strings, remembering which format matched."""

    def __init__(self) -> None:
        self.used: Counter[str] = Counter()
        self._last: str | None = None

    def __call__(self, raw: str) -> int:
        try:
            parsed = datetime.fromisoformat(raw)
            self.used["ISO 8601"] += 1
        except ValueError:
            parsed = self._strptime(raw)
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return int(aware.timestamp())

    def _strptime(self, raw: str) -> datetime:
        formats = ((self._last,) if self._last else ()) + DATE_FORMATS
        for fmt in formats:
            try:
                parsed = datetime.strptime(raw, fmt)  # noqa: DTZ007 - exports are UTC
            except ValueError:
                continue
            self._last = fmt
            self.used[fmt] += 1
            return parsed
        raise ValueError(f"unreadable date {raw!r}")


@dataclass
class _ParseState:
    cols: _Columns
    pair_key: str
    dates: _DateParser = field(default_factory=_DateParser)
    units: Counter[str] = field(default_factory=Counter)
    symbols: Counter[str] = field(default_factory=Counter)
    defects: Defects = field(default_factory=Defects)


def _row_ts(fields: Sequence[str], st: _ParseState) -> int:
    cols = st.cols
    if cols.unix is None:
        if cols.date is None:  # pragma: no cover - _find_header guarantees a time column
            raise ValueError("no time column")
        return st.dates(fields[cols.date])
    value = float(fields[cols.unix])
    unit = "ms" if value >= 1e11 else "s"
    st.units[unit] += 1
    ts = int(value / 1000) if unit == "ms" else int(value)
    if cols.date is not None and fields[cols.date]:
        date_ts = st.dates(fields[cols.date])
        if date_ts != ts:
            st.defects.get(
                "timestamp-mismatch", "used the unix column", "unix and date columns disagree"
            ).add(iso(from_epoch(ts)), f"unix {fields[cols.unix]} vs date {fields[cols.date]}")
    return ts


def _optional_number(fields: Sequence[str], col: int | None) -> float | None:
    return None if col is None else parse_number(fields[col])


def _parse_row(fields: Sequence[str], line_no: int, st: _ParseState) -> _Row | None:
    cols = st.cols
    if len(fields) < cols.width:
        st.defects.get("unparseable-row", "dropped").add(None, f"line {line_no}: too few fields")
        return None
    try:
        ts = _row_ts(fields, st)
        row = _Row(
            ts=ts,
            open=parse_number(fields[cols.open]),
            high=parse_number(fields[cols.high]),
            low=parse_number(fields[cols.low]),
            close=parse_number(fields[cols.close]),
            volume_base=_optional_number(fields, cols.volume_base) or 0.0,
            volume_quote=_optional_number(fields, cols.volume_quote),
            line=line_no,
        )
    except (ValueError, OverflowError, OSError) as err:
        st.defects.get("unparseable-row", "dropped").add(None, f"line {line_no}: {err}")
        return None
    if cols.symbol is not None and fields[cols.symbol]:
        symbol = fields[cols.symbol]
        st.symbols[symbol] += 1
        if _pair_key(symbol) != st.pair_key:
            st.defects.get("wrong-symbol", "dropped").add(row.when, f"line {line_no}: {symbol}")
            return None
    return row


def _check_bad_share(st: _ParseState, rows_read: int, kept: int, pair: str) -> None:
    wrong = st.defects.by_code.get("wrong-symbol")
    if wrong and wrong.count > rows_read * REFUSE_BAD_SHARE:
        top = ", ".join(s for s, _ in st.symbols.most_common(3))
        raise MarketCsvError(f"the file holds {top} rows, not {pair}; check --pair")
    if kept == 0:
        raise MarketCsvError("no row could be read (see unparseable-row examples)")
    bad = st.defects.by_code.get("unparseable-row")
    if bad and bad.count > rows_read * REFUSE_BAD_SHARE:
        raise MarketCsvError(
            f"{bad.count} of {rows_read} rows are unreadable, e.g. {bad.examples[0]}; "
            "refusing the file rather than importing a fragment"
        )


def _order(rows: Sequence[_Row]) -> str:
    ups = sum(1 for a, b in pairwise(rows) if b.ts > a.ts)
    downs = sum(1 for a, b in pairwise(rows) if b.ts < a.ts)
    if downs and not ups:
        return "newest-first"
    if ups and not downs:
        return "oldest-first"
    return "unordered" if ups and downs else "single-row"


def _timeframe_of(rows: Sequence[_Row]) -> int | None:
    stamps = sorted({r.ts for r in rows})
    steps = Counter(b - a for a, b in pairwise(stamps))
    return steps.most_common(1)[0][0] if steps else None


def _timeframe_name(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise MarketCsvError(f"rows are {seconds} s apart, which is no candle timeframe")


def _resolve_timeframe(rows: Sequence[_Row], timeframe: str | None) -> tuple[str, int]:
    step = _timeframe_of(rows)
    if timeframe is None:
        if step is None:
            raise MarketCsvError("one row is not enough to infer the timeframe; pass --timeframe")
        return _timeframe_name(step), step
    seconds = timeframe_seconds(timeframe)
    if step is not None and step != seconds:
        raise MarketCsvError(
            f"rows are mostly {step} s apart ({_timeframe_name(step)} candles) but the "
            f"timeframe given is {timeframe} ({seconds} s); check --timeframe"
        )
    return timeframe, seconds


def _drop_bad_values(rows: Iterable[_Row], defects: Defects, step: int) -> list[_Row]:
    kept = []
    for r in rows:
        if min(r.open, r.high, r.low, r.close) <= 0:
            defects.get("non-positive-price", "dropped").add(
                r.when, f"{r.when}: o={r.open} h={r.high} l={r.low} c={r.close}"
            )
        elif r.volume_base < 0 or (r.volume_quote is not None and r.volume_quote < 0):
            defects.get("negative-volume", "dropped").add(r.when, f"line {r.line}")
        elif step <= 86400 and r.ts % step:
            defects.get("misaligned-timestamp", "dropped").add(r.when, f"line {r.line}")
        else:
            kept.append(r)
    return kept


def _dedupe(rows: Iterable[_Row], defects: Defects) -> list[_Row]:
    """One row per timestamp: identical repeats dropped, conflicting ones keep the first."""
    first: dict[int, _Row] = {}
    for r in rows:
        seen = first.get(r.ts)
        if seen is None:
            first[r.ts] = r
        elif seen.values() == r.values():
            defects.get("duplicate-rows", "dropped the repeats").add(r.when, r.when)
        else:
            defects.get(
                "conflicting-duplicates", "kept the first row in the file, dropped the others"
            ).add(r.when, f"{r.when}: lines {seen.line} and {r.line} differ")
    return sorted(first.values(), key=lambda r: r.ts)


def _repair_ohlc(rows: Iterable[_Row], defects: Defects) -> list[_Row]:
    out = []
    for r in rows:
        high, low = max(r.open, r.high, r.low, r.close), min(r.open, r.high, r.low, r.close)
        if (high, low) != (r.high, r.low):
            defects.get(
                "ohlc-inconsistent",
                "repaired: high/low widened to contain open and close",
                "high < max(open, close) or low > min(open, close)",
            ).add(r.when, f"{r.when}: o={r.open} h={r.high} l={r.low} c={r.close}")
            r = replace(r, high=high, low=low)
        out.append(r)
    return out


def _fits(price: float, r: _Row) -> bool:
    return r.low * (1 - VOLUME_PRICE_TOLERANCE) <= price <= r.high * (1 + VOLUME_PRICE_TOLERANCE)


def _volume_state(r: _Row) -> str:
    """``ok``, ``swapped``, ``unverified`` or ``zero`` for one row's two volumes."""
    vb, vq = r.volume_base, r.volume_quote
    if vq is None:
        return "ok"
    if vb == 0 and vq == 0:
        return "zero"
    if vb == 0 or vq == 0:
        return "unverified"
    straight, swapped = _fits(vq / vb, r), _fits(vb / vq, r)
    if straight:
        return "ok"
    return "swapped" if swapped else "unverified"


def _runs(rows: Sequence[_Row], states: Sequence[str], target: str) -> list[dict[str, Any]]:
    """Contiguous date ranges of ``target`` rows; zero-volume rows do not break a run."""
    runs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for r, s in zip(rows, states, strict=True):
        if s == target:
            if current is None:
                current = {"first": r.when, "last": r.when, "count": 0}
                runs.append(current)
            current["last"] = r.when
            current["count"] += 1
        elif s != "zero":
            current = None
    return runs


def _repair_volumes(rows: Sequence[_Row], defects: Defects) -> list[_Row]:
    states = [_volume_state(r) for r in rows]
    out = []
    for r, s in zip(rows, states, strict=True):
        if s == "swapped" and r.volume_quote is not None:
            r = replace(r, volume_base=r.volume_quote, volume_quote=r.volume_base)
        out.append(r)
    swapped = [r for r, s in zip(rows, states, strict=True) if s == "swapped"]
    if swapped:
        checkable = sum(1 for s in states if s in ("ok", "swapped"))
        whole = len(swapped) == checkable
        defect = defects.get(
            "volume-swapped",
            "repaired: base and quote volumes swapped back",
            "columns mislabelled for the whole file"
            if whole
            else "volume columns swapped on part of the file (quote/base outside low..high)",
        )
        for r in swapped:
            defect.add(r.when)
        runs = _runs(rows, states, "swapped")
        defect.ranges = runs[:MAX_RANGES]
        defect.examples = [f"{r['first']} .. {r['last']} ({r['count']} rows)" for r in runs][
            :MAX_EXAMPLES
        ]
    for r, s in zip(rows, states, strict=True):
        if s == "unverified":
            defects.get(
                "volume-unverified",
                "kept as labelled",
                "quote/base volume is no price between low and high in either order",
            ).add(r.when, f"{r.when}: base={r.volume_base} quote={r.volume_quote}")
        elif s == "zero":
            defects.get("zero-volume", "kept (no trades in the candle)").add(r.when)
    return out


def _drop_incomplete_last(rows: list[_Row], defects: Defects) -> list[_Row]:
    """Exports include the still-open newest candle; its volume gives it away."""
    if len(rows) < 8:
        return rows
    recent = [r.volume_base for r in rows[-INCOMPLETE_LOOKBACK - 1 : -1] if r.volume_base > 0]
    if len(recent) < 4:
        return rows
    typical = statistics.median(recent)
    last = rows[-1]
    if last.volume_base < INCOMPLETE_VOLUME_RATIO * typical:
        defects.get(
            "incomplete-last-candle",
            "dropped (re-import or poll later to get the closed candle)",
            f"newest candle volume below {INCOMPLETE_VOLUME_RATIO:.0%} of the median "
            f"of the {len(recent)} before it",
        ).add(last.when, f"{last.when}: volume {last.volume_base:g} vs median {typical:g}")
        return rows[:-1]
    return rows


def _report_gaps(rows: Sequence[_Row], step: int, defects: Defects) -> None:
    holes = [
        Hole(a.when, b.when, (b.ts - a.ts) // step - 1)
        for a, b in pairwise(rows)
        if b.ts - a.ts > step
    ]
    report_holes(holes, defects, "candle")


def _report_jumps(rows: Sequence[_Row], defects: Defects) -> None:
    for a, b in pairwise(rows):
        if abs(b.open / a.close - 1) > PRICE_JUMP_RATIO:
            defects.get(
                "price-jump",
                "reported; kept",
                f"open differs from the previous close by more than {PRICE_JUMP_RATIO:.0%}",
            ).add(b.when, f"{a.when} close {a.close:g} -> {b.when} open {b.open:g}")


def read_price_csv(
    data: bytes,
    *,
    exchange: str,
    pair: str | None = None,
    timeframe: str | None = None,
    file: str = "<bytes>",
    ingested_at: datetime | None = None,
) -> PriceImport:
    """Parse, check and repair one OHLCV export; raises :class:`MarketCsvError` to refuse it.

    ``pair`` and ``timeframe`` are checked against the file (symbol column, row spacing)
    and inferred from it when not given. Without ``ingested_at`` each candle is stamped with
    its close time: an export claims what the market could see then, so an as-of backtest
    can use imported history (a live poll stamps the time it actually saw the candle).
    """
    text = read_text(data)
    header_at, header = _find_header(text.lines)
    pair = pair or _pair_from_file(text.lines[header_at + 1 :], header)
    base, quote = split_pair(pair)
    pair = f"{base}/{quote}"
    st = _ParseState(cols=_columns(header, pair), pair_key=_pair_key(pair))
    rows: list[_Row] = []
    rows_read = 0
    for offset, fields in enumerate(csv_rows(text.lines[header_at + 1 :])):
        if is_blank(fields):
            continue
        rows_read += 1
        row = _parse_row(fields, header_at + 2 + offset, st)
        if row is not None:
            rows.append(row)
    _check_bad_share(st, rows_read, len(rows), pair)
    order = _order(rows)
    timeframe, step = _resolve_timeframe(rows, timeframe)
    clean = _drop_bad_values(rows, st.defects, step)
    clean = _dedupe(clean, st.defects)
    clean = _repair_ohlc(clean, st.defects)
    clean = _repair_volumes(clean, st.defects)
    clean = _drop_incomplete_last(clean, st.defects)
    _report_gaps(clean, step, st.defects)
    _report_jumps(clean, st.defects)
    candles = [
        Candle(
            exchange=exchange,
            pair=pair,
            timeframe=timeframe,
            ts=from_epoch(r.ts),
            open=r.open,
            high=r.high,
            low=r.low,
            close=r.close,
            volume_base=r.volume_base,
            volume_quote=r.volume_quote,
            ingested_at=ingested_at or from_epoch(r.ts + step),
        )
        for r in clean
    ]
    report = ImportReport(
        kind="prices",
        file=file,
        target={"exchange": exchange, "pair": pair, "timeframe": timeframe},
        format={
            "banner": " | ".join(text.lines[:header_at]) or None,
            "line_endings": text.line_endings,
            "encoding": text.encoding,
            "order": order,
            "columns": st.cols.names,
            "unix_unit": _unit_name(st.units),
            "date_formats": sorted(st.dates.used),
        },
        rows_read=rows_read,
        rows_kept=len(candles),
        first=iso(candles[0].ts) if candles else None,
        last=iso(candles[-1].ts) if candles else None,
        defects=st.defects.listed(),
    )
    return PriceImport(report, candles)


def _unit_name(units: Counter[str]) -> str | None:
    if not units:
        return None
    return "mixed s/ms" if len(units) > 1 else next(iter(units))


def _pair_from_file(lines: Sequence[str], header: Sequence[str]) -> str:
    index = {name.lower(): i for i, name in enumerate(header)}
    if "symbol" not in index:
        raise MarketCsvError("the file has no symbol column; pass --pair (e.g. BTC/USD)")
    for line in lines:
        fields = csv_fields(line)
        if len(fields) > index["symbol"] and fields[index["symbol"]]:
            return fields[index["symbol"]]
    raise MarketCsvError("no symbol in the file; pass --pair (e.g. BTC/USD)")


def import_price_csv(
    path: Path,
    store: Store | None,
    *,
    exchange: str,
    pair: str | None = None,
    timeframe: str | None = None,
) -> ImportReport:
    """Read a price export and store its corrected candles (none when ``store`` is None)."""
    data = read_file(path)
    result = read_price_csv(data, exchange=exchange, pair=pair, timeframe=timeframe, file=path.name)
    report = result.report
    if store is None:
        report.dry_run = True
        return report
    t = report.target
    series = (t["exchange"], t["pair"], t["timeframe"])
    # add_candles' return value counts the batch, not the rows new to the store.
    before = store.market.count_candles(*series)
    store.market.add_candles(result.candles)
    report.stored = store.market.count_candles(*series) - before
    report.already_stored = len(result.candles) - report.stored
    store.sources.add_warnings(
        report.warnings(f"import:prices:{t['exchange']}:{t['pair']}:{t['timeframe']}")
    )
    log.info("%s: %d candles stored, %d defects", path.name, report.stored, len(report.defects))
    return report


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MarketCsvError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise MarketCsvError(f"{path} is a folder, not a CSV file") from None
    except OSError as err:
        raise MarketCsvError(f"cannot read {path}: {err.strerror}") from None
