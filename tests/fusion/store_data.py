"""Constructed frames written into a store as the collectors and the index would write them:
candles of one exchange, on-chain values of one source, index points of one model version.

The fusion tests use it to build small stores (the provider contract, the commands, the
service job); nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.records import Candle, Frequency, IndexPoint, OnchainMetric
from core.store import Store
from fusion.data import timeframe_delta
from tests.factories import doc, score

EXCHANGE = "bitstamp"
ONCHAIN_SOURCE = "daily-csv"
SENTIMENT_VERSION = "test-sentiment-v1"


def write_candles(store: Store, asset: str, timeframe: str, frame: pd.DataFrame) -> int:
    bar = timeframe_delta(timeframe)
    candles = [
        Candle(
            exchange=EXCHANGE,
            pair=f"{asset.upper()}/USD",
            timeframe=timeframe,
            ts=ts.to_pydatetime(),
            open=float(r.open),
            high=float(r.high),
            low=float(r.low),
            close=float(r.close),
            volume_base=float(r.volume),
            ingested_at=(ts + bar).to_pydatetime(),
        )
        for ts, r in frame.iterrows()
    ]
    return store.market.add_candles(candles)


def write_onchain(store: Store, asset: str, frame: pd.DataFrame, lag: pd.Timedelta) -> int:
    metrics = [
        OnchainMetric(
            asset=asset.upper(),
            day=day.date(),
            metric=str(metric),
            value=float(value),
            source=ONCHAIN_SOURCE,
            ingested_at=(day + pd.Timedelta(days=1) + lag).to_pydatetime(),
        )
        for day, row in frame.iterrows()
        for metric, value in row.items()
        if np.isfinite(value)
    ]
    return store.market.add_onchain(metrics)


def write_sentiment(
    store: Store, asset: str, frame: pd.DataFrame, version: str = SENTIMENT_VERSION
) -> int:
    points = [
        IndexPoint(
            asset=asset.upper(),
            family=str(r["family"]),
            freq=Frequency(str(r["freq"])),
            ts=pd.Timestamp(r["ts"]).to_pydatetime(),
            asof=pd.Timestamp(r["asof"]).to_pydatetime(),
            n_docs=int(r["n_docs"]),
            mean=float(r["mean"]),
            dispersion=float(r["dispersion"]),
            index=float(r["index"]),
            zscore=None if pd.isna(r["zscore"]) else float(r["zscore"]),
            model_version=version,
        )
        for _, r in frame.iterrows()
    ]
    return store.index.upsert(points)


def mark_scored(store: Store, version: str = SENTIMENT_VERSION) -> None:
    """One stored document scored by ``version``, so it is the store's latest sentiment
    version (what the provider reads when none is named)."""
    d = doc()
    store.documents.add([d])
    store.scores.add([score(d.id, version)])


def fill(
    store: Store,
    candles: Mapping[tuple[str, str], pd.DataFrame],
    onchain: Mapping[str, pd.DataFrame] | None = None,
    sentiment: Mapping[str, pd.DataFrame] | None = None,
    lag: pd.Timedelta | None = None,
) -> None:
    for (asset, timeframe), frame in candles.items():
        write_candles(store, asset, timeframe, frame)
    for asset, frame in (onchain or {}).items():
        write_onchain(store, asset, frame, pd.Timedelta(days=1) if lag is None else lag)
    for asset, frame in (sentiment or {}).items():
        write_sentiment(store, asset, frame)
    if sentiment:
        mark_scored(store)
