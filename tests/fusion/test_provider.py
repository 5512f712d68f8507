"""FrameProvider against the provider contract, and the frame checks at the boundary."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fusion.data import (
    DataProvider,
    FrameProvider,
    FusionDataError,
    MarketData,
    bars_per_year,
    horizon_bars,
    validate_candles,
    validate_sentiment,
)
from tests.fusion import synthetic
from tests.fusion.provider_contract import DataProviderContract


class TestFrameProvider(DataProviderContract):
    @pytest.fixture
    def make_provider(self):  # type: ignore[no-untyped-def]
        def make(
            candles: Mapping[tuple[str, str], pd.DataFrame],
            onchain: Mapping[str, pd.DataFrame],
            sentiment: Mapping[str, pd.DataFrame],
            lag: timedelta,
        ) -> DataProvider:
            return FrameProvider(candles, onchain, sentiment, onchain_lag=lag)

        return make


def test_bars_per_year_counts_every_hour_of_every_day() -> None:
    assert bars_per_year("1h") == 8760
    assert bars_per_year("1d") == 365
    assert bars_per_year("4h") == 2190


def test_horizon_must_be_whole_bars() -> None:
    assert horizon_bars("1h", "1d") == 24
    assert horizon_bars("1d", "1d") == 1
    with pytest.raises(FusionDataError, match="not a whole number of 1d bars"):
        horizon_bars("1d", "12h")


def test_candles_with_non_positive_prices_are_refused() -> None:
    c = synthetic.candles(10, "1h")
    c.iloc[3, c.columns.get_loc("low")] = 0.0
    with pytest.raises(FusionDataError, match="finite and positive"):
        validate_candles(c, "1h")


def test_candles_spaced_tighter_than_the_timeframe_are_refused() -> None:
    with pytest.raises(FusionDataError, match="closer together than one 1d bar"):
        validate_candles(synthetic.candles(10, "1h"), "1d")


def test_candles_missing_a_column_are_refused_naming_it() -> None:
    with pytest.raises(FusionDataError, match="missing columns volume"):
        validate_candles(synthetic.candles(10).drop(columns="volume"), "1h")


def test_unsorted_naive_candles_are_sorted_and_taken_as_utc() -> None:
    c = synthetic.candles(10).iloc[::-1]
    c.index = c.index.tz_localize(None)
    out = validate_candles(c, "1h")
    assert out.index.is_monotonic_increasing and str(out.index.tz) == "UTC"


def test_sentiment_point_known_before_its_bucket_ends_is_refused() -> None:
    s = synthetic.sentiment(synthetic.START, synthetic.START + pd.Timedelta(hours=5))
    s.loc[0, "asof"] = s.loc[0, "ts"]
    with pytest.raises(FusionDataError, match="before its bucket ends"):
        validate_sentiment(s)


def test_content_hash_changes_with_one_price() -> None:
    c = synthetic.candles(50)
    a = MarketData.of("BTC", "1h", c)
    c2 = c.copy()
    c2.iloc[10, 3] *= 1.0000001
    assert a.content_hash() == MarketData.of("BTC", "1h", c.copy()).content_hash()
    assert a.content_hash() != MarketData.of("BTC", "1h", c2).content_hash()


def test_span_reports_rows_and_first_last_of_each_input() -> None:
    md = MarketData.of("BTC", "1h", synthetic.candles(48), synthetic.onchain(3))
    span = md.span()
    assert span["candles"] == {
        "rows": 48,
        "first": "2021-01-01T00:00:00Z",
        "last": "2021-01-02T23:00:00Z",
    }
    assert span["onchain"]["rows"] == 3
    assert span["sentiment"] == {"rows": 0, "first": None, "last": None}
    assert np.isclose(md.bar / pd.Timedelta(hours=1), 1.0)
