"""``cryptosense import prices|onchain FILE``: market data files into the store, with a report.

Each command prints one JSON object: rows read and kept, candles or values stored, the
file's format (banner, line ends, order, date style) and every defect found with its count,
action and examples or date ranges. A file that cannot be trusted is refused with a clear
message and exit code 2; nothing is stored then. See docs/market-data.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.settings import Settings
from cryptosense.errors import UserError


def register(sub: Any) -> None:
    """Add the ``import`` subcommand with its ``prices`` and ``onchain`` kinds."""
    p = sub.add_parser(
        "import",
        help="import market data files: exchange OHLCV exports, on-chain metrics",
        description="Import a market data file, repairing or refusing its defects, and print "
        "a JSON report. Re-importing the same file stores nothing twice.",
    )
    kinds = p.add_subparsers(dest="import_kind", metavar="KIND", required=True)

    prices = kinds.add_parser(
        "prices",
        help="an exchange OHLCV export (CryptoDataDownload / Bitstamp CSV and alike)",
        description="Import OHLCV candles. Duplicates, zero prices and inconsistent OHLC are "
        "dropped or repaired, swapped volume columns are swapped back, holes are reported "
        "(never filled); a file for another pair or timeframe is refused.",
    )
    prices.add_argument("file", type=Path, help="the CSV export")
    prices.add_argument("--exchange", help="exchange id (default: settings prices.exchange)")
    prices.add_argument("--pair", help="e.g. BTC/USD (default: the file's symbol column)")
    prices.add_argument("--timeframe", help="e.g. 1h or 1d (default: the rows' spacing)")
    prices.add_argument("--dry-run", action="store_true", help="report only, store nothing")
    prices.set_defaults(handler=import_prices)

    onchain = kinds.add_parser(
        "onchain",
        help="daily on-chain metrics (Coin Metrics community CSV, or btc/eth_daily files)",
        description="Import daily on-chain metrics. Empty cells are missing values, not "
        "zeros. 'coinmetrics' files keep their metric ids (source coinmetrics); 'daily' files "
        "have active addresses, transactions, fees, hash rate and supply mapped onto Coin "
        "Metrics ids and units (source daily-csv).",
    )
    onchain.add_argument("file", type=Path, help="the CSV file")
    onchain.add_argument("--asset", required=True, help="asset symbol, e.g. BTC")
    onchain.add_argument(
        "--format",
        choices=("coinmetrics", "daily"),
        help="file layout (default: detected from the header)",
    )
    onchain.add_argument("--dry-run", action="store_true", help="report only, store nothing")
    onchain.set_defaults(handler=import_onchain)


def _emit(report: dict[str, Any]) -> None:
    print(json.dumps(report, ensure_ascii=False))


def import_prices(args: argparse.Namespace, settings: Settings) -> int:
    from collectors.importers.market_csv import MarketCsvError
    from collectors.importers.prices_csv import import_price_csv
    from collectors.market import TimeframeError
    from core.store import build_store

    exchange = (args.exchange or settings.prices.exchange).strip().lower()
    store = None if args.dry_run else build_store(settings.db, settings.paths)
    try:
        report = import_price_csv(
            args.file, store, exchange=exchange, pair=args.pair, timeframe=args.timeframe
        )
    except (MarketCsvError, TimeframeError) as err:
        raise UserError(f"{args.file}: refused: {err}") from None
    finally:
        if store is not None:
            store.close()
    _emit(report.as_dict())
    return 0


def import_onchain(args: argparse.Namespace, settings: Settings) -> int:
    from collectors.importers.market_csv import MarketCsvError
    from collectors.importers.onchain_csv import import_onchain_csv
    from core.store import build_store

    asset = args.asset.strip().upper()
    if not asset.isalnum() or len(asset) > 12:
        raise UserError(f"--asset {args.asset!r}: use a symbol of 1-12 letters or digits")
    store = None if args.dry_run else build_store(settings.db, settings.paths)
    try:
        report = import_onchain_csv(args.file, store, asset=asset, fmt=args.format)
    except MarketCsvError as err:
        raise UserError(f"{args.file}: refused: {err}") from None
    finally:
        if store is not None:
            store.close()
    _emit(report.as_dict())
    return 0
