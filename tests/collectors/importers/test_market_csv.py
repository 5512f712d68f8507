"""CSV import of exchange exports and on-chain files: every defect repaired or refused, and
reported. Fixture files in tests/data/market/ were written for the project (see the README
there for the defects each one carries)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlmodel import select

from collectors.importers.market_csv import MarketCsvError
from collectors.importers.onchain_csv import import_onchain_csv, read_onchain_csv
from collectors.importers.prices_csv import import_price_csv, read_price_csv
from core.settings import Settings
from core.store import Store, build_store
from core.store.tables import OnchainRow
from cryptosense.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "market"
DEFECTS = DATA / "cdd_btcusd_1h_defects.csv"
TWELVE_HOUR = DATA / "cdd_ethusd_1h_12h_dates.csv"
MISLABELLED = DATA / "ethusdt_1d_ms_mislabelled.csv"
COINMETRICS = DATA / "coinmetrics_btc_small.csv"
DAILY = DATA / "daily_btc_small.csv"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(hour: int) -> str:
    return (T0 + timedelta(hours=hour)).isoformat().replace("+00:00", "Z")


def read(path: Path, **kw: str) -> tuple[dict, list]:
    kw.setdefault("exchange", "bitstamp")
    result = read_price_csv(path.read_bytes(), file=path.name, **kw)  # type: ignore[arg-type]
    return result.report.as_dict(), result.candles


def defect(report: dict, code: str) -> dict:
    found = [d for d in report["defects"] if d["code"] == code]
    assert found, f"no {code!r} in {[d['code'] for d in report['defects']]}"
    return found[0]


# --- the defects file ------------------------------------------------------------------------


def test_export_with_banner_newest_first_is_read_in_time_order() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    assert report["format"]["banner"] == "https://www.CryptoDataDownload.com"
    assert report["format"]["order"] == "newest-first"
    assert report["format"]["line_endings"] == "LF"
    assert report["format"]["unix_unit"] == "s"
    assert report["rows_read"] == 29
    assert [c.ts for c in candles] == sorted(c.ts for c in candles)
    assert report["first"] == at(0) and report["last"] == at(28)


def test_swapped_volume_columns_are_swapped_back_and_the_date_range_reported() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    swapped = defect(report, "volume-swapped")
    assert swapped["count"] == 8
    assert (swapped["first"], swapped["last"]) == (at(0), at(7))
    assert swapped["ranges"] == [{"first": at(0), "last": at(7), "count": 8}]
    for c in candles:
        assert c.volume_quote is not None
        assert c.low <= c.volume_quote / c.volume_base <= c.high  # the average trade price
    assert candles[0].volume_base == 10


def test_duplicate_rows_are_dropped_and_conflicting_ones_keep_the_first_in_the_file() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    assert defect(report, "duplicate-rows")["count"] == 1
    conflict = defect(report, "conflicting-duplicates")
    assert conflict["count"] == 1 and conflict["first"] == at(13)
    stamps = [c.ts for c in candles]
    assert len(stamps) == len(set(stamps))
    assert next(c for c in candles if c.ts == T0 + timedelta(hours=13)).close == 42687


def test_zero_price_row_is_dropped_and_reported() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    zero = defect(report, "non-positive-price")
    assert zero["count"] == 1 and zero["first"] == at(20)
    assert all(min(c.open, c.high, c.low, c.close) > 0 for c in candles)


def test_gaps_are_reported_with_their_ranges_and_not_filled() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    gap = defect(report, "gap")
    assert gap["count"] == 2
    assert gap["ranges"] == [
        {"after": at(15), "before": at(19), "missing": 3},
        {"after": at(19), "before": at(21), "missing": 1},  # where the zero row was dropped
    ]
    assert len(candles) == 25  # 30 hours - 3 missing - 1 zero - 1 incomplete; none invented


def test_high_below_close_is_repaired_by_widening_and_reported() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    bad = defect(report, "ohlc-inconsistent")
    assert bad["count"] == 1 and bad["first"] == at(22)
    fixed = next(c for c in candles if c.ts == T0 + timedelta(hours=22))
    assert fixed.high == fixed.close == 43130
    assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)


def test_still_open_newest_candle_is_dropped() -> None:
    report, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    assert defect(report, "incomplete-last-candle")["first"] == at(29)
    assert candles[-1].ts == T0 + timedelta(hours=28)


def test_imported_candles_are_stamped_with_their_close_time() -> None:
    _, candles = read(DEFECTS, pair="BTC/USD", timeframe="1h")
    assert all(c.ingested_at == c.ts + timedelta(hours=1) for c in candles)


# --- formats -----------------------------------------------------------------------------


def test_crlf_export_with_12_hour_dates_reads_midnight_and_noon_right() -> None:
    report, candles = read(TWELVE_HOUR, pair="ETH/USD", timeframe="1h")
    assert report["format"]["line_endings"] == "CRLF"
    assert report["format"]["date_formats"] == ["%Y-%m-%d %I-%p"]
    assert report["format"]["banner"].startswith("Timestamps are UTC timezone")
    stamps = [c.ts for c in candles]
    assert stamps[0] == datetime(2020, 2, 12, 10, tzinfo=UTC)
    assert stamps[-1] == datetime(2020, 2, 13, 2, tzinfo=UTC)
    assert datetime(2020, 2, 12, 12, tzinfo=UTC) in stamps  # 12-PM is noon
    assert datetime(2020, 2, 13, 0, tzinfo=UTC) in stamps  # 12-AM is midnight
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(stamps))
    assert report["defects"] == []


def test_unix_milliseconds_and_columns_mislabelled_for_the_whole_file() -> None:
    report, candles = read(MISLABELLED, pair="ETH/USDT", timeframe="1d")
    assert report["format"]["unix_unit"] == "ms"
    assert report["format"]["order"] == "oldest-first"
    swapped = defect(report, "volume-swapped")
    assert swapped["count"] == 10 and "whole file" in swapped["detail"]
    assert candles[0].ts == datetime(2023, 5, 1, tzinfo=UTC)
    assert candles[0].volume_base == 5000


def test_pair_and_timeframe_are_inferred_when_not_given() -> None:
    report, _ = read(TWELVE_HOUR)
    assert (report["pair"], report["timeframe"]) == ("ETH/USD", "1h")


def test_rows_mixing_unix_seconds_and_milliseconds_are_both_read() -> None:
    data = (
        b"unix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n"
        b"1704070800000,2024-01-01 01:00:00,BTC/USD,10,11,9,10,1,10\n"
        b"1704067200,2024-01-01 00:00:00,BTC/USD,10,11,9,10,1,10\n"
    )
    result = read_price_csv(data, exchange="x", pair="BTC/USD", timeframe="1h")
    assert result.report.format["unix_unit"] == "mixed s/ms"
    assert [c.ts.hour for c in result.candles] == [0, 1]


def test_unix_and_date_columns_that_disagree_use_unix_and_report_it() -> None:
    data = (
        b"unix,date,open,high,low,close,Volume BTC,Volume USD\n"
        b"1704067200,2024-01-01 03:00:00,10,11,9,10,1,10\n"
        b"1704070800,2024-01-01 01:00:00,10,11,9,10,1,10\n"
    )
    result = read_price_csv(data, exchange="x", pair="BTC/USD", timeframe="1h")
    assert result.report.defect("timestamp-mismatch") is not None
    assert [c.ts.hour for c in result.candles] == [0, 1]


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "pair", "timeframe", "message"),
    [
        (b"hello\nworld\n", "BTC/USD", "1h", "no header"),
        (DEFECTS.read_bytes(), "ETH/USD", "1h", "Volume BTC"),
        (DEFECTS.read_bytes(), "BTC/USD", "1d", "check --timeframe"),
        (TWELVE_HOUR.read_bytes().replace(b"ETHUSD", b"BTCUSD"), "ETH/USD", "1h", "BTCUSD"),
        (
            b"date,open,high,low,close\n" + b"2024-01-01,x,y,z,w\n" * 3,
            "BTC/USD",
            "1d",
            "no row could be read",
        ),
    ],
    ids=["no-header", "other-pair-volume", "wrong-timeframe", "other-symbol", "garbage"],
)
def test_untrustworthy_file_is_refused_loudly(
    data: bytes, pair: str, timeframe: str, message: str
) -> None:
    with pytest.raises(MarketCsvError, match=message):
        read_price_csv(data, exchange="bitstamp", pair=pair, timeframe=timeframe)


def test_refused_file_stores_nothing(sqlite_store: Store) -> None:
    with pytest.raises(MarketCsvError):
        import_price_csv(DEFECTS, sqlite_store, exchange="bitstamp", pair="BTC/USD", timeframe="1d")
    assert sqlite_store.market.candles("bitstamp", "BTC/USD", "1d") == []


# --- storing -----------------------------------------------------------------------------


def test_import_stores_corrected_candles_once_and_records_warnings(store: Store) -> None:
    first = import_price_csv(DEFECTS, store, exchange="bitstamp", pair="BTC/USD", timeframe="1h")
    again = import_price_csv(DEFECTS, store, exchange="bitstamp", pair="BTC/USD", timeframe="1h")

    assert (first.stored, first.already_stored) == (25, 0)
    assert (again.stored, again.already_stored) == (0, 25)
    stored = store.market.candles("bitstamp", "BTC/USD", "1h")
    assert len(stored) == 25 and stored[0].volume_base == 10
    reasons = {w.reason for w in store.sources.warnings("import:prices:bitstamp:BTC/USD:1h")}
    assert {"volume-swapped", "gap", "non-positive-price"} <= reasons


def test_dry_run_reports_without_storing(sqlite_store: Store) -> None:
    report = import_price_csv(DEFECTS, None, exchange="bitstamp", pair="BTC/USD", timeframe="1h")
    assert report.dry_run and report.rows_kept == 25 and report.stored == 0
    assert sqlite_store.market.candles("bitstamp", "BTC/USD", "1h") == []


# --- on-chain ----------------------------------------------------------------------------


def test_coinmetrics_file_empty_cells_are_missing_not_zero() -> None:
    result = read_onchain_csv(COINMETRICS.read_bytes(), asset="btc")
    report = result.report.as_dict()
    assert report["source"] == "coinmetrics" and report["asset"] == "BTC"
    assert report["metrics"]["HashRate"] == {"values": 6, "missing": 1}
    hash_days = {m.day for m in result.metrics if m.metric == "HashRate"}
    assert date(2019, 1, 3) not in hash_days
    assert all(m.value != 0 for m in result.metrics)


def test_coinmetrics_file_bad_value_repeat_and_hole_are_reported() -> None:
    report = read_onchain_csv(COINMETRICS.read_bytes(), asset="BTC").report.as_dict()
    assert defect(report, "unparseable-value")["examples"] == ["2019-01-04 TxCnt='n/a'"]
    assert defect(report, "duplicate-rows")["first"] == "2019-01-05"
    assert defect(report, "gap")["ranges"] == [
        {"after": "2019-01-06", "before": "2019-01-08", "missing": 1}
    ]
    assert report["days"] == 7


def test_daily_file_maps_obvious_columns_to_coin_metrics_ids_and_units() -> None:
    result = read_onchain_csv(DAILY.read_bytes(), asset="BTC")
    report = result.report.as_dict()
    assert report["format"]["format"] == "daily" and report["source"] == "daily-csv"
    assert set(report["metrics"]) == {"AdrActCnt", "TxCnt", "FeeTotNtv", "HashRate", "SplyCur"}
    assert "google_trends" in report["format"]["ignored_columns"]
    first_hash = next(m for m in result.metrics if m.metric == "HashRate")
    assert first_hash.value == pytest.approx(150_000_000.0)  # 1.5e20 H/s -> TH/s
    assert first_hash.ingested_at == datetime(2021, 6, 2, tzinfo=UTC)  # end of the day


def test_onchain_format_that_does_not_fit_the_file_is_refused() -> None:
    with pytest.raises(MarketCsvError, match="'t' date column"):
        read_onchain_csv(COINMETRICS.read_bytes(), asset="BTC", fmt="daily")
    with pytest.raises(MarketCsvError, match="'time' or 'date'"):
        read_onchain_csv(b"x,y\n1,2\n", asset="BTC", fmt="coinmetrics")


def test_onchain_import_is_idempotent(store: Store) -> None:
    first = import_onchain_csv(COINMETRICS, store, asset="BTC")
    again = import_onchain_csv(COINMETRICS, store, asset="BTC")
    assert first.stored == first.rows_kept == 26 and again.stored == 0
    assert store.market.last_onchain_day("BTC", "coinmetrics") == date(2019, 1, 8)
    with store.session() as s:
        assert len(s.exec(select(OnchainRow)).all()) == 26


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    return settings


def test_cli_import_prices_prints_one_json_report_and_stores(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["import", "prices", str(DEFECTS), "--exchange", "bitstamp", "--pair", "BTC/USD"]
    assert main([*argv, "--timeframe", "1h"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    assert report["stored"] == 25 and report["timeframe"] == "1h"
    assert {d["code"] for d in report["defects"]} >= {"volume-swapped", "gap"}
    store = build_store(cli_env.db, cli_env.paths)
    assert len(store.market.candles("bitstamp", "BTC/USD", "1h")) == 25
    store.close()


def test_cli_dry_run_stores_nothing(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "prices", str(TWELVE_HOUR), "--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True and report["rows_kept"] == 17
    assert not (cli_env.data_dir / "cryptosense.db").exists()


def test_cli_refusal_is_a_clear_message_and_exit_code_2(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["import", "prices", str(DEFECTS), "--pair", "BTC/USD", "--timeframe", "1d"])
    err = capsys.readouterr().err
    assert code == 2
    assert "refused" in err and "--timeframe" in err and "Traceback" not in err


def test_cli_import_onchain_prints_report(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "onchain", str(DAILY), "--asset", "btc", "--format", "daily"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["asset"] == "BTC" and report["stored"] == 25
