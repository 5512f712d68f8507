"""``cryptosense import onchain FILE``: daily on-chain metrics into the store, with a report."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import asset_symbol, existing_file
from cryptosense.commands.common import store_unless_dry_run
from cryptosense.errors import UserError


def register(kinds: Any) -> None:
    """Add ``onchain`` to the ``import`` group."""
    p = kinds.add_parser(
        "onchain",
        help="daily on-chain metrics (Coin Metrics community CSV, or btc/eth_daily files)",
        description="Import daily on-chain metrics. Empty cells are missing values, not "
        "zeros. 'coinmetrics' files keep their metric ids (source coinmetrics); 'daily' files "
        "have active addresses, transactions, fees, hash rate and supply mapped onto Coin "
        "Metrics ids and units (source daily-csv).",
    )
    p.add_argument("file", type=existing_file, help="the CSV file")
    p.add_argument("--asset", type=asset_symbol, required=True, help="asset symbol, e.g. BTC")
    p.add_argument(
        "--format",
        choices=("coinmetrics", "daily"),
        help="file layout (default: detected from the header)",
    )
    p.add_argument("--dry-run", action="store_true", help="report only, store nothing")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from collectors.importers.market_csv import MarketCsvError
    from collectors.importers.onchain_csv import import_onchain_csv

    try:
        with store_unless_dry_run(settings, args.dry_run) as store:
            report = import_onchain_csv(args.file, store, asset=args.asset, fmt=args.format)
    except MarketCsvError as err:
        raise UserError(f"{args.file}: refused: {err}") from None
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0
