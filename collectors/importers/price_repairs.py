"""Checks and repairs of OHLCV rows read from an exchange export.

Every defect is either repaired or the row dropped, and always reported with a count and an
example or date range: zero prices, misaligned times, duplicated rows (identical or
conflicting), high/low that do not contain open/close, base and quote volumes swapped on part
of the file, the still-open newest candle, holes (reported, never filled) and price jumps.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from collectors.importers.market_csv import (
    MAX_EXAMPLES,
    MAX_RANGES,
    Defects,
    Hole,
    MarketCsvError,
    report_holes,
)
from collectors.market import from_epoch, iso, timeframe_seconds

# The quote volume divided by the base volume is the candle's average trade price, which
# must lie between its low and high; this slack absorbs rounding of small volumes.
VOLUME_PRICE_TOLERANCE = 0.05
# The newest row of an export is often the still-open candle: far less volume than usual.
INCOMPLETE_VOLUME_RATIO = 0.2
INCOMPLETE_LOOKBACK = 24
PRICE_JUMP_RATIO = 0.5


@dataclass(frozen=True)
class PriceRow:
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


def repair(rows: Sequence[PriceRow], step: int, defects: Defects) -> list[PriceRow]:
    """The rows to store, oldest first, after every check below; ``step`` is the timeframe
    in seconds. Defects found are added to ``defects``."""
    clean = _drop_bad_values(rows, defects, step)
    clean = _dedupe(clean, defects)
    clean = _repair_ohlc(clean, defects)
    clean = _repair_volumes(clean, defects)
    clean = _drop_incomplete_last(clean, defects)
    _report_gaps(clean, step, defects)
    _report_jumps(clean, defects)
    return clean


def order_of(rows: Sequence[PriceRow]) -> str:
    ups = sum(1 for a, b in pairwise(rows) if b.ts > a.ts)
    downs = sum(1 for a, b in pairwise(rows) if b.ts < a.ts)
    if downs and not ups:
        return "newest-first"
    if ups and not downs:
        return "oldest-first"
    return "unordered" if ups and downs else "single-row"


def _timeframe_of(rows: Sequence[PriceRow]) -> int | None:
    stamps = sorted({r.ts for r in rows})
    steps = Counter(b - a for a, b in pairwise(stamps))
    return steps.most_common(1)[0][0] if steps else None


def timeframe_name(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise MarketCsvError(f"rows are {seconds} s apart, which is no candle timeframe")


def resolve_timeframe(rows: Sequence[PriceRow], timeframe: str | None) -> tuple[str, int]:
    step = _timeframe_of(rows)
    if timeframe is None:
        if step is None:
            raise MarketCsvError("one row is not enough to infer the timeframe; pass --timeframe")
        return timeframe_name(step), step
    seconds = timeframe_seconds(timeframe)
    if step is not None and step != seconds:
        raise MarketCsvError(
            f"rows are mostly {step} s apart ({timeframe_name(step)} candles) but the "
            f"timeframe given is {timeframe} ({seconds} s); check --timeframe"
        )
    return timeframe, seconds


def _drop_bad_values(rows: Iterable[PriceRow], defects: Defects, step: int) -> list[PriceRow]:
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


def _dedupe(rows: Iterable[PriceRow], defects: Defects) -> list[PriceRow]:
    """One row per timestamp: identical repeats dropped, conflicting ones keep the first."""
    first: dict[int, PriceRow] = {}
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


def _repair_ohlc(rows: Iterable[PriceRow], defects: Defects) -> list[PriceRow]:
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


def _fits(price: float, r: PriceRow) -> bool:
    return r.low * (1 - VOLUME_PRICE_TOLERANCE) <= price <= r.high * (1 + VOLUME_PRICE_TOLERANCE)


def _volume_state(r: PriceRow) -> str:
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


def _runs(rows: Sequence[PriceRow], states: Sequence[str], target: str) -> list[dict[str, Any]]:
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


def _repair_volumes(rows: Sequence[PriceRow], defects: Defects) -> list[PriceRow]:
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


def _drop_incomplete_last(rows: list[PriceRow], defects: Defects) -> list[PriceRow]:
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


def _report_gaps(rows: Sequence[PriceRow], step: int, defects: Defects) -> None:
    holes = [
        Hole(a.when, b.when, (b.ts - a.ts) // step - 1)
        for a, b in pairwise(rows)
        if b.ts - a.ts > step
    ]
    report_holes(holes, defects, "candle")


def _report_jumps(rows: Sequence[PriceRow], defects: Defects) -> None:
    for a, b in pairwise(rows):
        if abs(b.open / a.close - 1) > PRICE_JUMP_RATIO:
            defects.get(
                "price-jump",
                "reported; kept",
                f"open differs from the previous close by more than {PRICE_JUMP_RATIO:.0%}",
            ).add(b.when, f"{a.when} close {a.close:g} -> {b.when} open {b.open:g}")
