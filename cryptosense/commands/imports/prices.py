"""``cryptosense import prices FILE``: an exchange OHLCV export into the store, with a report."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import existing_file, timeframe, trading_pair
from cryptosense.commands.common import store_unless_dry_run
from cryptosense.errors import UserError


def register(kinds: Any) -> None:
    """Add ``prices`` to the ``import`` group."""
    p = kinds.add_parser(
        "prices",
        help="an exchange OHLCV export (CryptoDataDownload / Bitstamp CSV and alike)",
        description="Import OHLCV candles. Duplicates, zero prices and inconsistent OHLC are "
        "dropped or repaired, swapped volume columns are swapped back, holes are reported "
        "(never filled); a file for another pair or timeframe is refused.",
    )
    p.add_argument("file", type=existing_file, help="the CSV export")
    p.add_argument("--exchange", help="exchange id (default: settings prices.exchange)")
    p.add_argument(
        "--pair", type=trading_pair, help="e.g. BTC/USD (default: the file's symbol column)"
    )
    p.add_argument("--timeframe", type=timeframe, help="e.g. 1h or 1d (default: the rows' spacing)")
    p.add_argument("--dry-run", action="store_true", help="report only, store nothing")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from collectors.importers.market_csv import MarketCsvError
    from collectors.importers.prices_csv import import_price_csv
    from collectors.market import TimeframeError

    exchange = (args.exchange or settings.prices.exchange).strip().lower()
    try:
        with store_unless_dry_run(settings, args.dry_run) as store:
            report = import_price_csv(
                args.file, store, exchange=exchange, pair=args.pair, timeframe=args.timeframe
            )
    except (MarketCsvError, TimeframeError) as err:
        raise UserError(f"{args.file}: refused: {err}") from None
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0
