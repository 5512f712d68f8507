"""What the fusion subcommands share beyond :mod:`cryptosense.commands.args` and
:mod:`cryptosense.commands.common`: the market arguments and progress on stderr."""

from __future__ import annotations

import argparse
import sys
import time

from cryptosense.commands.args import asset_symbol, timeframe


def add_market(
    parser: argparse.ArgumentParser, *, asset_required: bool, timeframe_required: bool
) -> None:
    """``--asset`` and ``--timeframe``, each required or defaulted as the command needs."""
    parser.add_argument(
        "--asset",
        type=asset_symbol,
        required=asset_required,
        help="asset symbol, e.g. BTC (its pair comes from settings prices.pairs)"
        + ("" if asset_required else "; default: every covered asset"),
    )
    parser.add_argument(
        "--timeframe",
        type=timeframe,
        required=timeframe_required,
        help="bar size, e.g. 1h or 1d"
        + ("" if timeframe_required else " (default: settings fusion.live_timeframe, 1d)"),
    )


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
