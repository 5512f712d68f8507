"""CSV import for on-chain metrics: the Coin Metrics community format and daily files.

Coin Metrics files have a ``time`` (or ``date``) column and one column per metric id
(``AdrActCnt``, ``TxCnt``, ...); they are stored under source ``coinmetrics``, the same as
the API collector, so a poll after an import continues where the file ended.
``btc_daily``/``eth_daily`` style files (a ``t`` date column, Glassnode-derived names) have
their obvious columns mapped onto Coin Metrics ids and units and are stored under source
``daily-csv``, so two methodologies never mix in one series. Empty cells are missing values,
never zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal

from collectors.importers.market_csv import (
    Defects,
    Hole,
    ImportReport,
    MarketCsvError,
    csv_fields,
    data_rows,
    parse_number,
    read_file,
    read_text,
    report_holes,
)
from core.records import OnchainMetric
from core.store import Store

log = logging.getLogger(__name__)

OnchainFormat = Literal["coinmetrics", "daily"]
ONCHAIN_FORMATS: tuple[OnchainFormat, ...] = ("coinmetrics", "daily")
ONCHAIN_SOURCES: dict[str, str] = {"coinmetrics": "coinmetrics", "daily": "daily-csv"}
# btc_daily / eth_daily columns -> (Coin Metrics metric id, factor to Coin Metrics units).
DAILY_COLUMNS: dict[str, tuple[str, float]] = {
    "active_addresses": ("AdrActCnt", 1.0),
    "total_transactions": ("TxCnt", 1.0),
    "total_fees": ("FeeTotNtv", 1.0),
    "hash_rate_mean": ("HashRate", 1e-12),  # H/s in the file, TH/s at Coin Metrics
    "total_supply": ("SplyCur", 1.0),
}
MISSING = frozenset({"", "nan", "null", "none"})


@dataclass
class OnchainImport:
    report: ImportReport
    metrics: list[OnchainMetric]


@dataclass(frozen=True)
class _OnchainLayout:
    fmt: OnchainFormat
    time_col: int
    asset_col: int | None
    metrics: dict[int, tuple[str, float]]  # column -> (metric id, unit factor)
    ignored: list[str]


def _onchain_layout(header: Sequence[str], fmt: OnchainFormat | None) -> _OnchainLayout:
    lower = [h.lower() for h in header]
    if fmt is None:
        fmt = "daily" if "t" in lower and any(c in lower for c in DAILY_COLUMNS) else "coinmetrics"
    if fmt == "daily":
        if "t" not in lower:
            raise MarketCsvError("daily format needs a 't' date column; try --format coinmetrics")
        mapped = {i: DAILY_COLUMNS[n] for i, n in enumerate(lower) if n in DAILY_COLUMNS}
        if not mapped:
            raise MarketCsvError(
                f"none of the daily columns {sorted(DAILY_COLUMNS)} is in the file"
            )
        time_col = lower.index("t")
        ignored = [h for i, h in enumerate(header) if i not in mapped and i != time_col and h]
        return _OnchainLayout("daily", time_col, None, mapped, ignored)
    name = next((c for c in ("time", "date") if c in lower), None)
    if name is None:
        raise MarketCsvError(
            "Coin Metrics format needs a 'time' or 'date' column; try --format daily"
        )
    time_col = lower.index(name)
    asset_col = lower.index("asset") if "asset" in lower else None
    skip = {time_col, asset_col}
    mapped = {i: (h, 1.0) for i, h in enumerate(header) if i not in skip and h}
    if not mapped:
        raise MarketCsvError("the file has a date column but no metric columns")
    return _OnchainLayout("coinmetrics", time_col, asset_col, mapped, [])


@dataclass
class _MetricStats:
    values: int = 0
    missing: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"values": self.values, "missing": self.missing}


def read_onchain_csv(
    data: bytes,
    *,
    asset: str,
    fmt: OnchainFormat | None = None,
    file: str = "<bytes>",
    ingested_at: datetime | None = None,
) -> OnchainImport:
    """Parse one on-chain metrics file into one record per metric per day.

    Empty cells are missing values (counted per metric), never zeros; an unreadable value
    or date is dropped and reported; repeated days keep the first row. Without
    ``ingested_at`` each value is stamped with the end of its day, when it could first be
    known, so as-of backtests can use imported history.
    """
    text = read_text(data)
    if not text.lines:
        raise MarketCsvError("the file is empty")
    text.check_header(0)
    header = csv_fields(text.lines[0])
    layout = _onchain_layout(header, fmt)
    asset = asset.upper()
    source = ONCHAIN_SOURCES[layout.fmt]
    defects = Defects()
    stats = {name: _MetricStats() for name, _ in layout.metrics.values()}
    rows_by_day: dict[date, list[str]] = {}
    rows_read = 0
    for line_no, fields in data_rows(text.lines[1:], 2, defects):
        rows_read += 1
        if fields is None:
            continue
        day = _onchain_day(fields, layout, line_no, asset, defects)
        if day is None:
            continue
        if day in rows_by_day:
            same = rows_by_day[day] == fields
            defects.get(
                "duplicate-rows" if same else "conflicting-duplicates",
                "dropped the repeats" if same else "kept the first row, dropped the others",
            ).add(day.isoformat(), f"line {line_no}: {day}")
            continue
        rows_by_day[day] = fields
    if not rows_by_day:
        raise MarketCsvError("no row with a readable date")
    metrics: list[OnchainMetric] = []
    for day in sorted(rows_by_day):
        metrics.extend(
            _row_metrics(
                rows_by_day[day],
                day,
                layout,
                asset,
                source,
                ingested_at or _day_end(day),
                stats,
                defects,
            )
        )
    days = sorted(rows_by_day)
    _report_day_gaps(days, defects)
    report = ImportReport(
        kind="onchain",
        file=file,
        target={"asset": asset, "source": source},
        format={
            "format": layout.fmt,
            "line_endings": text.line_endings,
            "encoding": text.encoding,
            "date_column": header[layout.time_col],
            "ignored_columns": layout.ignored,
            "units": {"HashRate": "TH/s (converted from H/s)"} if layout.fmt == "daily" else {},
        },
        rows_read=rows_read,
        rows_kept=len(metrics),
        first=days[0].isoformat(),
        last=days[-1].isoformat(),
        extra={
            "days": len(days),
            "missing_values": sum(s.missing for s in stats.values()),
            "metrics": {name: s.as_dict() for name, s in stats.items()},
        },
        defects=defects.listed(),
    )
    return OnchainImport(report, metrics)


def _day_end(day: date) -> datetime:
    """When a daily value could first be known: the end of its (UTC) day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _onchain_day(
    fields: Sequence[str], layout: _OnchainLayout, line_no: int, asset: str, defects: Defects
) -> date | None:
    if len(fields) <= layout.time_col:
        defects.get("unparseable-row", "dropped").add(None, f"line {line_no}: too few fields")
        return None
    raw = fields[layout.time_col]
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        defects.get("bad-date", "dropped the row").add(None, f"line {line_no}: {raw!r}")
        return None
    if layout.asset_col is not None and fields[layout.asset_col].upper() != asset:
        defects.get("wrong-asset", "dropped").add(
            day.isoformat(), f"line {line_no}: {fields[layout.asset_col]}"
        )
        return None
    return day


def _row_metrics(
    fields: Sequence[str],
    day: date,
    layout: _OnchainLayout,
    asset: str,
    source: str,
    now: datetime,
    stats: dict[str, _MetricStats],
    defects: Defects,
) -> Iterable[OnchainMetric]:
    for col, (name, factor) in layout.metrics.items():
        raw = fields[col] if col < len(fields) else ""
        if raw.lower() in MISSING:
            stats[name].missing += 1
            continue
        try:
            value = parse_number(raw) * factor
        except ValueError:
            defects.get("unparseable-value", "dropped the value").add(
                day.isoformat(), f"{day} {name}={raw!r}"
            )
            continue
        stats[name].values += 1
        yield OnchainMetric(
            asset=asset, day=day, metric=name, value=value, source=source, ingested_at=now
        )


def _report_day_gaps(days: Sequence[date], defects: Defects) -> None:
    holes = [
        Hole(a.isoformat(), b.isoformat(), (b - a).days - 1)
        for a, b in pairwise(days)
        if b - a > timedelta(days=1)
    ]
    report_holes(holes, defects, "day")


def import_onchain_csv(
    path: Path,
    store: Store | None,
    *,
    asset: str,
    fmt: OnchainFormat | None = None,
) -> ImportReport:
    """Read an on-chain metrics file and store its values (none when ``store`` is None)."""
    data = read_file(path)
    result = read_onchain_csv(data, asset=asset, fmt=fmt, file=path.name)
    report = result.report
    if store is None:
        report.dry_run = True
        return report
    t = report.target
    before = store.market.count_onchain(t["asset"], t["source"])
    store.market.add_onchain(result.metrics)
    report.stored = store.market.count_onchain(t["asset"], t["source"]) - before
    report.already_stored = len(result.metrics) - report.stored
    store.sources.add_warnings(report.warnings(f"import:onchain:{t['source']}:{t['asset']}"))
    log.info("%s: %d metric values stored", path.name, report.stored)
    return report
