"""StoreProvider against the provider contract on SQLite and PostgreSQL, and what it decides
on its own: which pair, on-chain source and sentiment version belong to an asset."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import pandas as pd
import pytest

from core.records import OnchainMetric
from core.store import Store
from fusion.data import DataProvider, FrameProvider, FusionDataError
from fusion.store_provider import StoreProvider, pair_assets
from tests.fusion import store_data, synthetic
from tests.fusion.provider_contract import DataProviderContract


class TestStoreProvider(DataProviderContract):
    @pytest.fixture
    def make_provider(self, store: Store):  # type: ignore[no-untyped-def]
        def make(
            candles: Mapping[tuple[str, str], pd.DataFrame],
            onchain: Mapping[str, pd.DataFrame],
            sentiment: Mapping[str, pd.DataFrame],
            lag: timedelta,
        ) -> DataProvider:
            store_data.fill(store, candles, onchain, sentiment, pd.Timedelta(lag))
            return StoreProvider(
                store,
                exchange="bitstamp",
                pairs={"BTC": "BTC/USD", "DOGE2": "DOGE2/USD"},
                onchain_lag=lag,
                sentiment_version=store_data.SENTIMENT_VERSION,
            )

        return make

    def test_serves_the_same_frames_as_the_frame_provider(
        self, provider: DataProvider, frames: dict[str, object]
    ) -> None:
        ref = FrameProvider(
            frames["candles"],  # type: ignore[arg-type]
            frames["onchain"],  # type: ignore[arg-type]
            frames["sentiment"],  # type: ignore[arg-type]
            onchain_lag=self.LAG,
        )
        t = (synthetic.START + pd.Timedelta(days=9, hours=5, minutes=30)).to_pydatetime()
        for asof in (None, t):
            got = provider.market_data("BTC", "1h", asof=asof)
            want = ref.market_data("BTC", "1h", asof=asof)
            assert got.content_hash() == want.content_hash()


def test_configured_asset_without_candles_says_how_to_get_them(sqlite_store: Store) -> None:
    provider = StoreProvider(
        sqlite_store, exchange="bitstamp", pairs={"ETH": "ETH/USD"}, sentiment_version=None
    )
    assert provider.assets() == []
    with pytest.raises(FusionDataError, match=r"no candles for ETH \(bitstamp ETH/USD\)"):
        provider.market_data("ETH", "1d")


def test_pairs_map_to_their_base_asset_first_pair_winning() -> None:
    assert pair_assets(("BTC/USD", "eth/usd", "BTC/EUR")) == {"BTC": "BTC/USD", "ETH": "ETH/USD"}


def _metric(source: str, day: date, value: float) -> OnchainMetric:
    return OnchainMetric(
        asset="BTC",
        day=day,
        metric="TxCnt",
        value=value,
        source=source,
        ingested_at=pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime(),
    )


def test_onchain_reads_one_source_the_one_with_the_newest_day(sqlite_store: Store) -> None:
    store_data.write_candles(sqlite_store, "BTC", "1d", synthetic.candles(40, "1d"))
    sqlite_store.market.add_onchain(
        [_metric("daily-csv", date(2021, 1, d), 100.0 + d) for d in range(1, 30)]
        + [_metric("coinmetrics", date(2021, 1, d), 1.0) for d in range(20, 31)]
    )
    provider = StoreProvider(
        sqlite_store, exchange="bitstamp", pairs={"BTC": "BTC/USD"}, sentiment_version=None
    )
    assert provider.onchain_source("BTC") == "coinmetrics"
    assert provider.market_data("BTC", "1d").onchain["TxCnt"].max() == 1.0
    pinned = StoreProvider(
        sqlite_store,
        exchange="bitstamp",
        pairs={"BTC": "BTC/USD"},
        sentiment_version=None,
        onchain_source="daily-csv",
    )
    assert pinned.market_data("BTC", "1d").onchain["TxCnt"].min() == 101.0


def test_sentiment_defaults_to_the_newest_scored_version_and_reads_the_bars_frequency(
    sqlite_store: Store,
) -> None:
    start = synthetic.START
    store_data.write_candles(sqlite_store, "BTC", "1d", synthetic.candles(20, "1d"))
    store_data.write_sentiment(
        sqlite_store, "BTC", synthetic.sentiment(start, start + pd.Timedelta(days=20), "1d")
    )
    store_data.write_sentiment(
        sqlite_store, "BTC", synthetic.sentiment(start, start + pd.Timedelta(days=2), "1h")
    )
    provider = StoreProvider(
        sqlite_store,
        exchange="bitstamp",
        pairs={"BTC": "BTC/USD"},
        sentiment_version=store_data.SENTIMENT_VERSION,
    )
    sent = provider.market_data("BTC", "1d").sentiment
    assert set(sent["freq"]) == {"1d"} and set(sent["family"]) == {"all", "news", "reddit"}
    # Without scores stored, there is no latest version: no sentiment, said plainly.
    bare = StoreProvider(sqlite_store, exchange="bitstamp", pairs={"BTC": "BTC/USD"})
    assert bare.sentiment_version is None
    assert bare.market_data("BTC", "1d").sentiment.empty
    assert bare.describe("BTC")["sentiment_model_version"] is None
