"""What the fusion subcommands share: their arguments, the store they open, and progress."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from core.times import TimeParseError, parse_utc

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store import Store


def asset_symbol(value: str) -> str:
    """An asset symbol as the store keeps it (``btc`` -> ``BTC``)."""
    symbol = value.strip().upper()
    if not symbol.isalnum() or len(symbol) > 12:
        raise argparse.ArgumentTypeError(f"{value!r}: use a symbol of 1-12 letters or digits")
    return symbol


def utc_time(value: str) -> datetime:
    """ISO 8601 date or time (no zone: UTC), through the project's one parser."""
    try:
        return parse_utc(value)
    except TimeParseError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def add_market(
    parser: argparse.ArgumentParser, *, asset_required: bool, timeframe_required: bool
) -> None:
    parser.add_argument(
        "--asset",
        type=asset_symbol,
        required=asset_required,
        help="asset symbol, e.g. BTC (its pair comes from settings prices.pairs)"
        + ("" if asset_required else "; default: every covered asset"),
    )
    parser.add_argument(
        "--timeframe",
        required=timeframe_required,
        help="bar size, e.g. 1h or 1d"
        + ("" if timeframe_required else " (default: settings fusion.live_timeframe, 1d)"),
    )


@contextmanager
def opened_store(settings: Settings) -> Iterator[Store]:
    from core.store import build_store

    store = build_store(settings.db, settings.paths)
    try:
        yield store
    finally:
        store.close()


class Progress:
    """Progress of a long study on stderr, one line per finished walk-forward, with the time
    so far. Nothing is said before the first one: bad input (found while the data is read and
    the folds planned) stays a single line."""

    def __init__(self, what: str, *, quiet: bool = False) -> None:
        self.began = time.perf_counter()
        self.what = what
        self.quiet = quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            took = time.perf_counter() - self.began
            print(f"fusion: {text} ({took:.1f} s)", file=sys.stderr, flush=True)

    def __call__(self, what: str, done: int, total: int) -> None:
        self.say(f"{self.what}: [{done}/{total}] {what} done")
