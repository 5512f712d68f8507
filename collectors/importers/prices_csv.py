"""CSV import for exchange OHLCV exports (CryptoDataDownload / Bitstamp and similar).

Exports arrive with a URL banner above the header, newest-first rows, CRLF line ends, 12-hour
dates such as ``2020-02-13 01-AM``, unix times in seconds or milliseconds, and real defects
(see :mod:`collectors.importers.price_repairs`, which repairs or drops them). A file that
cannot be trusted as a whole (no header, wrong pair, wrong timeframe, a header split by a
stray carriage return) is refused with :class:`MarketCsvError`. Nothing here invents a candle.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from collectors.importers import market_csv
from collectors.importers.market_csv import CsvText, Defects, ImportReport, MarketCsvError
from collectors.importers.price_repairs import PriceRow, order_of, repair, resolve_timeframe
from collectors.market import PairError, from_epoch, iso, split_pair
from core.records import Candle
from core.store import Store

log = logging.getLogger(__name__)

HEADER_SEARCH_LINES = 5
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


@dataclass
class PriceImport:
    report: ImportReport
    candles: list[Candle]


def _split_pair(pair: str) -> tuple[str, str]:
    try:
        return split_pair(pair)
    except PairError as err:
        raise MarketCsvError(str(err)) from None


def _pair_key(pair: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", pair.upper())


def _find_header(text: CsvText) -> tuple[int, list[str]]:
    """The header's line index and its fields: the first of the first lines naming a time
    column and open, high, low and close."""
    for i, line in enumerate(text.lines[:HEADER_SEARCH_LINES]):
        names = [f.lower() for f in market_csv.csv_fields(line)]
        has_time = any(n in UNIX_COLUMNS or n in DATE_COLUMNS for n in names)
        if has_time and {"open", "high", "low", "close"} <= set(names):
            text.check_header(i)
            return i, market_csv.csv_fields(line)
    if text.lines:
        text.check_header(min(HEADER_SEARCH_LINES, len(text.lines)) - 1)
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
    base, quote = _split_pair(pair)
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
    return None if col is None else market_csv.parse_number(fields[col])


def _parse_row(fields: Sequence[str], line_no: int, st: _ParseState) -> PriceRow | None:
    cols = st.cols
    if len(fields) < cols.width:
        st.defects.get("unparseable-row", "dropped").add(None, f"line {line_no}: too few fields")
        return None
    try:
        ts = _row_ts(fields, st)
        row = PriceRow(
            ts=ts,
            open=market_csv.parse_number(fields[cols.open]),
            high=market_csv.parse_number(fields[cols.high]),
            low=market_csv.parse_number(fields[cols.low]),
            close=market_csv.parse_number(fields[cols.close]),
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
    text = market_csv.read_text(data)
    header_at, header = _find_header(text)
    pair = pair or _pair_from_file(text.lines[header_at + 1 :], header)
    base, quote = _split_pair(pair)
    pair = f"{base}/{quote}"
    st = _ParseState(cols=_columns(header, pair), pair_key=_pair_key(pair))
    rows: list[PriceRow] = []
    rows_read = 0
    for line_no, fields in market_csv.data_rows(
        text.lines[header_at + 1 :], header_at + 2, st.defects
    ):
        rows_read += 1
        if fields is None:
            continue
        row = _parse_row(fields, line_no, st)
        if row is not None:
            rows.append(row)
    _check_bad_share(st, rows_read, len(rows), pair)
    order = order_of(rows)
    timeframe, step = resolve_timeframe(rows, timeframe)
    clean = repair(rows, step, st.defects)
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
        fields = market_csv.csv_fields(line)
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
    data = market_csv.read_file(path)
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
