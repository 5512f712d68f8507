"""``cryptosense import prices|onchain FILE``: market data files into the store, with a report.

Each command prints one JSON object: rows read and kept, candles or values stored, the
file's format (banner, line ends, order, date style) and every defect found with its count,
action and examples or date ranges. A file that cannot be trusted is refused with a clear
message and exit code 2; nothing is stored then. See docs/market-data.md.
"""

from __future__ import annotations

from typing import Any

from cryptosense.commands.imports import onchain, prices


def register(sub: Any) -> None:
    """Add the ``import`` subcommand with its ``prices`` and ``onchain`` kinds."""
    p = sub.add_parser(
        "import",
        help="import market data files: exchange OHLCV exports, on-chain metrics",
        description="Import a market data file, repairing or refusing its defects, and print "
        "a JSON report. Re-importing the same file stores nothing twice.",
    )
    kinds = p.add_subparsers(dest="import_kind", metavar="KIND", required=True)
    for kind in (prices, onchain):
        kind.register(kinds)
