"""Candles and on-chain values (``store.market``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from core.records import Candle, OnchainMetric
from core.store import Store
from tests.factories import T0

HOUR = timedelta(hours=1)


def candle(hour: int, *, close: float = 100.0, pair: str = "BTC/USD", tf: str = "1h") -> Candle:
    return Candle(
        exchange="bitstamp",
        pair=pair,
        timeframe=tf,
        ts=T0 + hour * HOUR,
        open=99.0,
        high=101.0,
        low=98.0,
        close=close,
        volume_base=1.5,
        volume_quote=None if hour % 2 else 150.0,
        ingested_at=T0 + (hour + 1) * HOUR,
    )


def metric(
    day: int, *, value: float = 1.0, asset: str = "btc", source: str = "coinmetrics"
) -> OnchainMetric:
    return OnchainMetric(
        asset=asset,
        day=date(2024, 3, 1) + timedelta(days=day),
        metric="TxCnt",
        value=value,
        source=source,
        ingested_at=T0,
    )


def test_candles_are_stored_once_and_a_stored_candle_is_never_rewritten(store: Store) -> None:
    store.market.add_candles([candle(1), candle(0), candle(2)])
    store.market.add_candles([candle(2, close=999.0), candle(3)])
    series = store.market.candles("bitstamp", "BTC/USD", "1h")
    assert [c.ts for c in series] == [T0 + h * HOUR for h in range(4)]
    assert series[2] == candle(2)
    assert store.market.count_candles("bitstamp", "BTC/USD", "1h") == 4
    assert store.market.add_candles([]) == 0


def test_candle_series_are_kept_apart(store: Store) -> None:
    store.market.add_candles([candle(0), candle(5, pair="ETH/USD"), candle(7, tf="1d")])
    assert store.market.last_candle_ts("bitstamp", "BTC/USD", "1h") == T0
    assert store.market.last_candle_ts("bitstamp", "ETH/USD", "1h") == T0 + 5 * HOUR
    assert store.market.last_candle_ts("kraken", "BTC/USD", "1h") is None
    assert store.market.count_candles("bitstamp", "BTC/USD", "1d") == 1
    assert store.market.candles("bitstamp", "XRP/USD", "1h") == []


def test_onchain_values_are_stored_once_per_asset_metric_day_and_source(store: Store) -> None:
    store.market.add_onchain([metric(0), metric(1), metric(1, source="other")])
    store.market.add_onchain([metric(1, value=42.0), metric(2)])
    assert store.market.count_onchain("btc", "coinmetrics") == 3
    assert store.market.count_onchain("btc", "other") == 1
    assert store.market.last_onchain_day("btc", "coinmetrics") == date(2024, 3, 3)
    assert store.market.last_onchain_day("eth", "coinmetrics") is None
    assert store.market.add_onchain([]) == 0


def test_candle_rows_are_plain_tuples_filtered_by_open_time(store: Store) -> None:
    store.market.add_candles([candle(h) for h in range(5)] + [candle(0, tf="1d")])
    rows = store.market.candle_rows("bitstamp", "BTC/USD", "1h", open_by=T0 + 2 * HOUR)
    assert rows == [(T0 + h * HOUR, 99.0, 101.0, 98.0, 100.0, 1.5) for h in range(3)]
    assert len(store.market.candle_rows("bitstamp", "BTC/USD", "1h")) == 5
    assert store.market.timeframes("bitstamp", "BTC/USD") == ["1d", "1h"]
    assert store.market.timeframes("bitstamp", "XRP/USD") == []


def test_onchain_reads_by_source_metric_and_day(store: Store) -> None:
    store.market.add_onchain([metric(0), metric(1), metric(2, value=3.0, source="other")])
    assert store.market.onchain_sources("btc") == [
        ("coinmetrics", date(2024, 3, 2), 2),
        ("other", date(2024, 3, 3), 1),
    ]
    assert store.market.onchain_metrics("btc", "coinmetrics") == ["TxCnt"]
    assert store.market.onchain_rows("btc", "coinmetrics", through=date(2024, 3, 1)) == [
        (date(2024, 3, 1), "TxCnt", 1.0)
    ]
    assert store.market.onchain_sources("eth") == []
