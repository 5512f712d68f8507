"""The store as a :class:`fusion.data.DataProvider`: what the backtest, the live signal and the
look-ahead guard read in production.

Which data belongs to an asset:

- **candles**: the pair of the configured exchange whose base is the asset (settings
  ``prices``: exchange ``bitstamp``, pairs ``BTC/USD``... -> BTC); the first pair listed wins
  when two share a base;
- **on-chain**: one source per asset, so two methodologies never mix in one series: the
  one given, else the source with the newest day (ties: more values, then the name);
- **sentiment**: the index points of one sentiment model version, the one given or else the
  newest with stored scores (``store.scores.latest_version``), at the index frequency the
  timeframe reads (hourly for bars under a day, daily otherwise), every source family.

As of a time T, each read is filtered in SQL by the rules of fusion/data.py: candles whose
bar closed by T (``ts + timeframe <= T``), on-chain days published by T (``day + 1 day +
lag <= T``), index points computed by T (``asof <= T``; the index reads only documents
ingested before its ``asof``). tests/fusion/provider_contract.py holds it to those rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.records import Frequency
from fusion.data import (
    CANDLE_COLUMNS,
    DAY,
    FusionDataError,
    MarketData,
    empty_onchain,
    empty_sentiment,
    index_points_frame,
    timeframe_delta,
    utc_timestamp,
    validate_candles,
)
from fusion.features.sentiment import index_freq

if TYPE_CHECKING:
    from core.settings import FusionSettings, PriceSettings
    from core.store import Store

log = logging.getLogger(__name__)


def pair_assets(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("BTC/USD", "ETH/USD")`` -> ``{"BTC": "BTC/USD", "ETH": "ETH/USD"}`` (first wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        base = pair.split("/", 1)[0].strip().upper()
        if base:
            out.setdefault(base, pair.strip().upper())
    return out


class StoreProvider:
    """Market data from the store, as known at any time (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        exchange: str,
        pairs: Mapping[str, str],
        onchain_lag: timedelta | str = "1d",
        sentiment_version: str | None = None,
        onchain_source: str | None = None,
    ) -> None:
        from core.settings import parse_duration

        self.store = store
        self.exchange = exchange.strip().lower()
        self.pairs = {a.upper(): p for a, p in pairs.items()}
        lag = parse_duration(onchain_lag) if isinstance(onchain_lag, str) else onchain_lag
        self.onchain_lag = pd.Timedelta(lag)
        self.sentiment_version = sentiment_version or store.scores.latest_version()
        self._onchain_source = onchain_source

    @classmethod
    def from_settings(
        cls,
        store: Store,
        prices: PriceSettings,
        fusion: FusionSettings,
        *,
        sentiment_version: str | None = None,
    ) -> StoreProvider:
        """The provider the ``prices`` and ``fusion`` settings sections describe."""
        return cls(
            store,
            exchange=prices.exchange,
            pairs=pair_assets(prices.pairs),
            onchain_lag=fusion.onchain_lag,
            sentiment_version=sentiment_version,
        )

    # what is there -----------------------------------------------------------------------

    def assets(self) -> list[str]:
        """Configured assets with stored candles (any timeframe)."""
        return sorted(a for a in self.pairs if self.timeframes(a))

    def timeframes(self, asset: str) -> list[str]:
        pair = self.pairs.get(asset.upper())
        return [] if pair is None else self.store.market.timeframes(self.exchange, pair)

    def onchain_source(self, asset: str) -> str | None:
        """The on-chain source read for ``asset`` (None: no values stored)."""
        if self._onchain_source is not None:
            return self._onchain_source
        sources = self.store.market.onchain_sources(asset.upper())
        if not sources:
            return None
        newest = max(sources, key=lambda s: (s[1], s[2], s[0]))
        return newest[0]

    def describe(self, asset: str) -> dict[str, Any]:
        """Where an asset's data comes from: recorded in every study's manifest."""
        a = asset.upper()
        return {
            "provider": "store",
            "exchange": self.exchange,
            "pair": self.pairs.get(a),
            "onchain_source": self.onchain_source(a),
            "sentiment_model_version": self.sentiment_version,
        }

    # the provider protocol ---------------------------------------------------------------

    def market_data(self, asset: str, timeframe: str, asof: datetime | None = None) -> MarketData:
        a, pair = asset.upper(), self._pair(asset, timeframe)
        bar = timeframe_delta(timeframe)
        t = None if asof is None else utc_timestamp(asof)
        candles = self._candles(pair, timeframe, None if t is None else t - bar)
        onchain = self._onchain(a, None if t is None else t - DAY - self.onchain_lag)
        sentiment = self._sentiment(a, bar, t)
        md = MarketData.of(a, timeframe, candles, onchain, sentiment, onchain_lag=self.onchain_lag)
        return md if t is None else md.asof_view(t)

    def candles(self, asset: str, timeframe: str, asof: datetime | None = None) -> pd.DataFrame:
        """Only the candles closed by ``asof`` (validated, by open time): the ledger's read."""
        pair = self._pair(asset, timeframe)
        bar = timeframe_delta(timeframe)
        t = None if asof is None else utc_timestamp(asof)
        frame = validate_candles(
            self._candles(pair, timeframe, None if t is None else t - bar), timeframe
        )
        return frame if t is None else frame.loc[frame.index + bar <= t]

    # reads -------------------------------------------------------------------------------

    def _pair(self, asset: str, timeframe: str) -> str:
        """The pair of ``asset``, or one clear line on what is missing."""
        a = asset.upper()
        pair = self.pairs.get(a)
        if pair is None:
            known = ", ".join(self.assets()) or "none"
            raise FusionDataError(
                f"unknown asset {asset!r}; known: {known} (settings prices.pairs decide which "
                "assets are covered)"
            )
        have = self.timeframes(a)
        if not have:
            raise FusionDataError(
                f"no candles for {a} ({self.exchange} {pair}) in the store: import or collect "
                "them first (cryptosense import prices / collect --source prices)"
            )
        if timeframe not in have:
            raise FusionDataError(f"no {timeframe} candles for {a}; timeframes: {', '.join(have)}")
        return pair

    def _candles(self, pair: str, timeframe: str, open_by: pd.Timestamp | None) -> pd.DataFrame:
        rows = self.store.market.candle_rows(
            self.exchange,
            pair,
            timeframe,
            open_by=None if open_by is None else open_by.to_pydatetime(),
        )
        if not rows:
            return pd.DataFrame(
                {c: pd.Series(dtype=np.float64) for c in CANDLE_COLUMNS},
                index=pd.DatetimeIndex([], tz="UTC", name="ts"),
            )
        ts, *cols = zip(*rows, strict=True)
        return pd.DataFrame(
            {
                name: np.asarray(v, dtype=np.float64)
                for name, v in zip(CANDLE_COLUMNS, cols, strict=True)
            },
            index=pd.DatetimeIndex(pd.to_datetime(list(ts), utc=True), name="ts"),
        )

    def _onchain(self, asset: str, published_by: pd.Timestamp | None) -> pd.DataFrame:
        """Days whose values were published by T: ``day + 1 day + lag <= T``, i.e. the day's
        midnight at or before ``T - 1 day - lag`` (``published_by``)."""
        source = self.onchain_source(asset)
        if source is None:
            return empty_onchain()
        through: date | None = None if published_by is None else published_by.date()
        rows = self.store.market.onchain_rows(asset, source, through=through)
        metrics = self.store.market.onchain_metrics(asset, source)
        if not rows:
            frame = pd.DataFrame(columns=metrics, index=pd.DatetimeIndex([], tz="UTC"))
            return frame.astype("float64")
        long = pd.DataFrame(rows, columns=["day", "metric", "value"])
        wide = long.pivot(index="day", columns="metric", values="value")
        wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index), name="day").tz_localize("UTC")
        wide.columns.name = None
        # Every metric the source has, even one whose first value comes later: the frame's
        # shape must not depend on T (the columns alone reveal nothing: all missing).
        return wide.reindex(columns=metrics)

    def _sentiment(self, asset: str, bar: pd.Timedelta, t: pd.Timestamp | None) -> pd.DataFrame:
        if self.sentiment_version is None:
            return empty_sentiment()
        points = self.store.index.known_points(
            asset,
            self.sentiment_version,
            freq=Frequency(index_freq(bar)),
            asof=None if t is None else t.to_pydatetime(),
        )
        return index_points_frame(points) if points else empty_sentiment()
