"""A small reader of the real market files in ``$CRYPTOSENSE_REAL_DATA/market`` for the fusion
tests and benchmark, until the store-backed provider serves them through the project's own
importer (collectors/market_csv.py, which these rules follow).

- Bitstamp / CryptoDataDownload exports: a banner line above the header, newest first,
  ``unix`` seconds or 12-hour ``date`` strings; the base and quote volume columns are
  swapped on many old rows, detected row by row (quote / base must be a price inside the
  bar's low..high); all-zero rows dropped; the still-open last candle dropped (volume under
  20 % of the median of the 24 before it).
- ``btc_daily`` / ``eth_daily`` on-chain files: the columns the importer keeps, under the
  Coin Metrics names the store will use (HashRate in TH/s).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ONCHAIN_COLUMNS = {
    "active_addresses": "AdrActCnt",
    "total_transactions": "TxCnt",
    "total_fees": "FeeTotNtv",
    "hash_rate_mean": "HashRate",
    "total_supply": "SplyCur",
}


def real_data_dir() -> Path | None:
    root = os.environ.get("CRYPTOSENSE_REAL_DATA")
    return Path(root) if root and Path(root, "market").is_dir() else None


def require_real_data() -> Path:
    root = real_data_dir()
    if root is None:
        pytest.skip("CRYPTOSENSE_REAL_DATA is not set (or has no market/ folder)")
    return root


def read_candles(path: Path) -> pd.DataFrame:
    """OHLCV by bar open time (UTC), oldest first, base-currency volume."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines[:5]) if "open" in line.lower())
    raw = pd.read_csv(path, skiprows=header)
    raw.columns = [c.strip() for c in raw.columns]
    cols = {c.lower(): c for c in raw.columns}
    if "unix" in cols:
        unix = raw[cols["unix"]].astype(np.int64)
        unix = np.where(unix > 10**11, unix // 1000, unix)
        ts = pd.to_datetime(unix, unit="s", utc=True)
    else:
        ts = pd.to_datetime(raw[cols["date"]], format="%Y-%m-%d %I-%p", utc=True)
    vols = [c for c in raw.columns if c.lower().startswith("volume")]
    quote = next(c for c in vols if c.lower().endswith("usd"))
    base = next(c for c in vols if c != quote)
    out = pd.DataFrame(
        {
            "open": raw[cols["open"]].astype(float).to_numpy(),
            "high": raw[cols["high"]].astype(float).to_numpy(),
            "low": raw[cols["low"]].astype(float).to_numpy(),
            "close": raw[cols["close"]].astype(float).to_numpy(),
            "base": raw[base].astype(float).to_numpy(),
            "quote": raw[quote].astype(float).to_numpy(),
        },
        index=pd.DatetimeIndex(ts, name="ts"),
    ).sort_index()
    out = out.loc[~out.index.duplicated(keep="first")]
    out = out.loc[(out[["open", "high", "low", "close"]] > 0).all(axis=1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        as_labelled = out["quote"] / out["base"]
        swapped_price = out["base"] / out["quote"]
    inside = as_labelled.between(out["low"] * 0.999, out["high"] * 1.001)
    swapped = ~inside & swapped_price.between(out["low"] * 0.999, out["high"] * 1.001)
    out["volume"] = np.where(swapped, out["quote"], out["base"])
    median = out["volume"].iloc[-25:-1].median()
    if out["volume"].iloc[-1] < 0.2 * median:
        out = out.iloc[:-1]
    return out[["open", "high", "low", "close", "volume"]]


def read_onchain(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    out = raw[list(ONCHAIN_COLUMNS)].rename(columns=ONCHAIN_COLUMNS).astype(float)
    out["HashRate"] = out["HashRate"] / 1e12
    out.index = pd.DatetimeIndex(pd.to_datetime(raw["t"], utc=True), name="day")
    return out


def btc_hourly(root: Path) -> pd.DataFrame:
    return read_candles(root / "market/ohlcv/bitstamp_btcusd_1h.csv")


def btc_daily(root: Path) -> pd.DataFrame:
    return read_candles(root / "market/ohlcv/bitstamp_btcusd_1d.csv")


def eth_daily(root: Path) -> pd.DataFrame:
    return read_candles(root / "market/ohlcv/bitstamp_ethusd_1d.csv")


def onchain(root: Path, asset: str) -> pd.DataFrame:
    return read_onchain(root / f"market/onchain/{asset.lower()}_daily_2016_2022.csv")
