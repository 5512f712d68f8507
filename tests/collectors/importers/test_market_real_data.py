"""Every real exchange export and on-chain file in ``real_data/market`` imports into SQLite,
with the defects that ``real_data/README.md`` lists reported and the stored candles corrected.
Skips with a reason when CRYPTOSENSE_REAL_DATA is not given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from collectors.importers.market_csv import ImportReport
from collectors.importers.onchain_csv import import_onchain_csv
from collectors.importers.price_repairs import VOLUME_PRICE_TOLERANCE
from collectors.importers.prices_csv import import_price_csv
from core.records import Candle
from core.store import Store
from core.store.tables import OnchainRow

DAILY_METRICS = ("AdrActCnt", "TxCnt", "FeeTotNtv", "HashRate", "SplyCur")
PAIRS = {
    "bitstamp_btcusd_1d.csv": ("BTC/USD", "1d"),
    "bitstamp_btcusd_1h.csv": ("BTC/USD", "1h"),
    "bitstamp_ethusd_1d.csv": ("ETH/USD", "1d"),
    "bitstamp_ethusd_1h_2017_2020.csv": ("ETH/USD", "1h"),
}


@pytest.fixture(scope="module")
def market_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'market.db'}")
    yield store
    store.close()


@pytest.fixture(scope="module")
def reports(real_data: Path, market_store: Store) -> dict[str, ImportReport]:
    folder = real_data / "market" / "ohlcv"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not there")
    found = sorted(p.name for p in folder.glob("*.csv"))
    assert found, f"no CSV in {folder}"
    out = {}
    for name in found:
        pair, timeframe = PAIRS.get(name, (None, None))
        out[name] = import_price_csv(
            folder / name, market_store, exchange="bitstamp", pair=pair, timeframe=timeframe
        )
    return out


def defect(report: ImportReport, code: str) -> Any:
    found = report.defect(code)
    assert found is not None, f"{report.file}: no {code!r} in {[d.code for d in report.defects]}"
    return found


def stored(store: Store, name: str) -> list[Candle]:
    pair, timeframe = PAIRS[name]
    return store.market.candles("bitstamp", pair, timeframe)


def test_every_export_imports_and_stores_what_it_kept(
    reports: dict[str, ImportReport], market_store: Store
) -> None:
    for name, report in reports.items():
        assert report.rows_kept > 0 and report.stored == report.rows_kept, name
        if name in PAIRS:
            assert len(stored(market_store, name)) == report.rows_kept


def test_btc_daily_volumes_swapped_before_2018_02_28_are_repaired(
    reports: dict[str, ImportReport], market_store: Store
) -> None:
    report = reports["bitstamp_btcusd_1d.csv"]
    assert report.format["banner"] == "https://www.CryptoDataDownload.com"
    swapped = defect(report, "volume-swapped")
    assert swapped.first == "2014-11-28T00:00:00Z" and swapped.last == "2018-02-27T00:00:00Z"
    by_day = {c.ts: c for c in stored(market_store, "bitstamp_btcusd_1d.csv")}
    repaired = by_day[datetime(2018, 2, 27, tzinfo=UTC)]
    assert (repaired.volume_base, repaired.volume_quote) == (10408.48, 110086762.8)


def test_btc_hourly_volumes_swapped_before_2020_10_12_are_repaired(
    reports: dict[str, ImportReport],
) -> None:
    report = reports["bitstamp_btcusd_1h.csv"]
    swapped = defect(report, "volume-swapped")
    assert swapped.first == "2018-05-15T06:00:00Z"
    assert "2020-10-11" < swapped.last < "2020-10-13"
    assert report.defect("gap") is None  # the README: no gaps


def test_eth_daily_zero_closes_are_dropped(
    reports: dict[str, ImportReport], market_store: Store
) -> None:
    report = reports["bitstamp_ethusd_1d.csv"]
    zero = defect(report, "non-positive-price")
    assert zero.count == 988 and zero.last < "2017-11-09"
    candles = stored(market_store, "bitstamp_ethusd_1d.csv")
    assert min(c.close for c in candles) > 0
    assert candles[0].ts == datetime(2017, 11, 9, tzinfo=UTC)


def test_eth_hourly_banner_crlf_12_hour_dates_and_50_day_hole(
    reports: dict[str, ImportReport],
) -> None:
    report = reports["bitstamp_ethusd_1h_2017_2020.csv"]
    assert report.format["banner"] and report.format["line_endings"] == "CRLF"
    assert report.format["date_formats"] == ["%Y-%m-%d %I-%p"]
    gap = defect(report, "gap")
    hole = gap.ranges[0]
    assert hole["before"] == "2017-11-12T05:00:00Z"
    span = datetime.fromisoformat(hole["before"]) - datetime.fromisoformat(hole["after"])
    assert 49 <= span.days <= 51


def test_stored_candles_are_corrected(
    reports: dict[str, ImportReport], market_store: Store
) -> None:
    """After repair every stored candle is consistent: positive prices, OHLC ordered, and
    the quote volume / base volume (the average trade price) inside low..high."""
    for name in PAIRS:
        assert name in reports
        candles = stored(market_store, name)
        stamps = [c.ts for c in candles]
        assert len(stamps) == len(set(stamps)), name
        for c in candles:
            assert 0 < c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high, c
            if c.volume_base > 0 and c.volume_quote:
                price = c.volume_quote / c.volume_base
                slack = 1 + VOLUME_PRICE_TOLERANCE
                assert c.low / slack <= price <= c.high * slack, (name, c.ts)


def test_onchain_files_import_with_missing_cells_kept_missing(
    real_data: Path, market_store: Store
) -> None:
    folder = real_data / "market" / "onchain"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not there")
    cm = import_onchain_csv(folder / "coinmetrics_btc_2009_2019.csv", market_store, asset="BTC")
    assert cm.extra["days"] == 3955 and cm.first == "2009-01-03" and cm.last == "2019-11-01"
    assert cm.extra["missing_values"] > 0 and cm.stored == cm.rows_kept
    with market_store.session() as s:
        genesis = s.exec(
            select(OnchainRow.metric).where(
                OnchainRow.day == date(2009, 1, 3), OnchainRow.source == "coinmetrics"
            )
        ).all()
    assert "PriceUSD" not in genesis  # an empty cell, not a zero
    for name, asset in (("btc_daily_2016_2022.csv", "BTC"), ("eth_daily_2016_2022.csv", "ETH")):
        daily = import_onchain_csv(folder / name, market_store, asset=asset)
        assert daily.format["format"] == "daily" and daily.extra["days"] == 2435
        assert set(daily.extra["metrics"]) == {
            "AdrActCnt",
            "TxCnt",
            "FeeTotNtv",
            "HashRate",
            "SplyCur",
        }
        assert daily.stored == 2435 * 5
