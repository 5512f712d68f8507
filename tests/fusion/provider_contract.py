"""The tests every :class:`fusion.data.DataProvider` must pass, whatever holds its data.

An implementation's test module subclasses :class:`DataProviderContract` and supplies the
``make_provider`` fixture: a function that takes frames (candles by (asset, timeframe),
on-chain and sentiment by asset) and an on-chain lag and returns a provider serving exactly
that data (the store-backed provider writes them into a store first). The contract checks the
as-of rules of fusion/data.py at their edges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fusion.data import DataProvider, FusionDataError, MarketData
from tests.fusion import synthetic

MakeProvider = Callable[
    [
        Mapping[tuple[str, str], pd.DataFrame],
        Mapping[str, pd.DataFrame],
        Mapping[str, pd.DataFrame],
        timedelta,
    ],
    DataProvider,
]

START = synthetic.START
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)


def _late_point(sent: pd.DataFrame) -> pd.DataFrame:
    """One bucket whose point was computed three hours after the bucket ended."""
    out = sent.copy()
    k = out.index[(out["family"] == "all")][5]
    out.loc[k, "asof"] = out.loc[k, "ts"] + 4 * HOUR
    return out


class DataProviderContract:
    LAG = timedelta(hours=6)

    @pytest.fixture
    def frames(self) -> dict[str, object]:
        candles = synthetic.candles(24 * 20, "1h", seed=3)
        daily = synthetic.candles(20, "1d", seed=4)
        onchain = synthetic.onchain(20, seed=5)
        sent = _late_point(synthetic.sentiment(START, START + 20 * DAY, "1h", seed=6))
        return {
            "candles": {("BTC", "1h"): candles, ("BTC", "1d"): daily},
            "onchain": {"BTC": onchain},
            "sentiment": {"BTC": sent},
        }

    @pytest.fixture
    def provider(self, make_provider: MakeProvider, frames: dict[str, object]) -> DataProvider:
        return make_provider(
            frames["candles"],  # type: ignore[arg-type]
            frames["onchain"],  # type: ignore[arg-type]
            frames["sentiment"],  # type: ignore[arg-type]
            self.LAG,
        )

    def test_is_a_data_provider(self, provider: DataProvider) -> None:
        assert isinstance(provider, DataProvider)
        assert provider.assets() == ["BTC"]

    def test_unknown_asset_is_one_clear_error(self, provider: DataProvider) -> None:
        with pytest.raises(FusionDataError, match="unknown asset 'DOGE'"):
            provider.market_data("DOGE", "1h")

    def test_timeframe_without_candles_is_one_clear_error(self, provider: DataProvider) -> None:
        with pytest.raises(FusionDataError, match="no 4h candles for BTC"):
            provider.market_data("BTC", "4h")

    def test_asset_names_are_case_insensitive(self, provider: DataProvider) -> None:
        assert provider.market_data("btc", "1h").asset == "BTC"

    def test_without_asof_everything_is_served(
        self, provider: DataProvider, frames: dict[str, object]
    ) -> None:
        md = provider.market_data("BTC", "1h")
        candles = frames["candles"][("BTC", "1h")]  # type: ignore[index]
        assert len(md.candles) == len(candles)
        assert np.allclose(md.candles["close"].to_numpy(), candles["close"].to_numpy())
        assert str(md.candles.index.tz) == "UTC"
        assert list(md.candles.columns) == ["open", "high", "low", "close", "volume"]
        assert md.onchain_lag == pd.Timedelta(self.LAG)

    def test_a_candle_is_known_exactly_when_its_bar_closes(self, provider: DataProvider) -> None:
        close_of_bar_10 = START + 11 * HOUR
        at = provider.market_data("BTC", "1h", asof=close_of_bar_10.to_pydatetime())
        before = provider.market_data(
            "BTC", "1h", asof=(close_of_bar_10 - pd.Timedelta(seconds=1)).to_pydatetime()
        )
        assert at.candles.index[-1] == START + 10 * HOUR
        assert before.candles.index[-1] == START + 9 * HOUR

    def test_a_daily_candle_is_not_known_during_its_day(self, provider: DataProvider) -> None:
        md = provider.market_data("BTC", "1d", asof=(START + 3 * DAY + 23 * HOUR).to_pydatetime())
        assert md.candles.index[-1] == START + 2 * DAY

    def test_onchain_days_arrive_after_the_publication_lag(self, provider: DataProvider) -> None:
        published = START + 4 * DAY + DAY + pd.Timedelta(self.LAG)  # day 4, known then
        at = provider.market_data("BTC", "1h", asof=published.to_pydatetime())
        before = provider.market_data(
            "BTC", "1h", asof=(published - pd.Timedelta(seconds=1)).to_pydatetime()
        )
        assert at.onchain.index[-1] == START + 4 * DAY
        assert before.onchain.index[-1] == START + 3 * DAY

    def test_sentiment_points_arrive_at_their_asof(self, provider: DataProvider) -> None:
        full = provider.market_data("BTC", "1h").sentiment
        late = full.loc[full["asof"] > full["ts"] + HOUR].iloc[0]
        before = provider.market_data(
            "BTC", "1h", asof=(late["asof"] - pd.Timedelta(seconds=1)).to_pydatetime()
        ).sentiment
        at = provider.market_data("BTC", "1h", asof=late["asof"].to_pydatetime()).sentiment
        key = (before["ts"] == late["ts"]) & (before["family"] == "all")
        assert not key.any()  # computed late: not known at its bucket's end
        assert ((at["ts"] == late["ts"]) & (at["family"] == "all")).any()
        assert (before["asof"] <= late["asof"] - pd.Timedelta(seconds=1)).all()

    def test_asof_answers_equal_the_rules_applied_to_the_full_history(
        self, provider: DataProvider
    ) -> None:
        full: MarketData = provider.market_data("BTC", "1h")
        rng = np.random.default_rng(0)
        for offset in rng.uniform(0, 20 * 24, size=12):
            t = (START + pd.Timedelta(hours=float(offset))).floor("s")
            got = provider.market_data("BTC", "1h", asof=t.to_pydatetime())
            want = full.asof_view(t)
            pd.testing.assert_frame_equal(got.candles, want.candles)
            pd.testing.assert_frame_equal(
                got.onchain[sorted(got.onchain.columns)], want.onchain[sorted(want.onchain.columns)]
            )
            pd.testing.assert_frame_equal(
                got.sentiment.reset_index(drop=True), want.sentiment.reset_index(drop=True)
            )
            assert got.content_hash() == want.content_hash()
