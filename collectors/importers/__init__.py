"""File importers: history read once from files, with each item's original time.

- :mod:`~collectors.importers.archive`: news archives (JSONL, CSV) and Reddit dumps
  (``cryptosense backfill``), resumable, into documents.
- :mod:`~collectors.importers.prices_csv` (with its checks in
  :mod:`~collectors.importers.price_repairs`): exchange OHLCV exports into candles
  (``cryptosense import prices``).
- :mod:`~collectors.importers.onchain_csv`: Coin Metrics and daily on-chain files into metrics
  (``cryptosense import onchain``).
- :mod:`~collectors.importers.market_csv`: what the two market importers share: reading
  export text, :class:`~collectors.importers.market_csv.MarketCsvError`, the import report.

Each refuses a file it cannot trust with an error the command line prints as one line.
"""
