"""What the engine reads: one asset's candles, on-chain metrics and sentiment index points,
exactly as they were known at a time.

The as-of rules live here, once (:meth:`MarketData.asof`), and every provider must give the
same answer as applying them to the full history:

- a candle is known when its bar has closed: ``open time + timeframe <= T``;
- a day's on-chain values are known ``onchain_lag`` after the day ends:
  ``day + 1 day + lag <= T``;
- a sentiment index point is known at its ``asof`` (the end of its bucket, never earlier):
  ``asof <= T``. The index itself already reads only documents ingested before ``asof``
  (nlp/index.py), so documents stamped after T cannot reach a feature at T.

Frames, not records, cross this boundary because the engine is vectorised: a provider turns
its records into the three frames below once, and :func:`validate_candles` and friends refuse
frames that would make the engine compute nonsense (unsorted times, non-positive prices).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from core.errors import UserFacingError
from core.records import IndexPoint
from core.settings import parse_duration

log = logging.getLogger(__name__)

CANDLE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
SENTIMENT_COLUMNS: tuple[str, ...] = (
    "ts",
    "freq",
    "family",
    "asof",
    "n_docs",
    "mean",
    "dispersion",
    "index",
    "zscore",
)
DAY = pd.Timedelta(days=1)
YEAR = pd.Timedelta(days=365)  # crypto trades every day of the year


class FusionDataError(UserFacingError, ValueError):
    """Input the engine cannot use: an unknown asset, a range with no data, a bad frame."""


# --- time helpers ---------------------------------------------------------------------------


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """``1h`` -> one hour. Raises :class:`FusionDataError` for anything else than a duration."""
    try:
        return pd.Timedelta(parse_duration(timeframe))
    except ValueError as err:
        raise FusionDataError(f"timeframe: {err}") from None


def bars_per_year(timeframe: str) -> float:
    """Bars in a 365-day year: 8,760 hourly bars, 365 daily ones (markets never close)."""
    return float(YEAR / timeframe_delta(timeframe))


def horizon_bars(timeframe: str, horizon: str | timedelta) -> int:
    """The horizon as a whole number of bars; refuses one that is not a multiple of the bar."""
    bar = timeframe_delta(timeframe)
    span = pd.Timedelta(parse_duration(horizon) if isinstance(horizon, str) else horizon)
    n, rest = divmod(span, bar)
    if n < 1 or rest != pd.Timedelta(0):
        raise FusionDataError(
            f"horizon {horizon} is not a whole number of {timeframe} bars; use a multiple of "
            f"{timeframe}"
        )
    return int(n)


def utc_timestamp(t: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """A UTC timestamp; naive input is taken as UTC (the project's rule)."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# --- validation at the boundary -------------------------------------------------------------


def _utc_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise FusionDataError(f"{what}: the index must hold times (a DatetimeIndex)")
    idx = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return idx.as_unit("ns")


def validate_candles(frame: pd.DataFrame, timeframe: str, what: str = "candles") -> pd.DataFrame:
    """Candles indexed by bar open time (UTC), oldest first, float OHLCV, positive prices."""
    missing = [c for c in CANDLE_COLUMNS if c not in frame.columns]
    if missing:
        raise FusionDataError(f"{what}: missing columns {', '.join(missing)}")
    out = frame.loc[:, list(CANDLE_COLUMNS)].astype("float64")
    out.index = _utc_index(frame.index, what)
    out.index.name = "ts"
    if not out.index.is_monotonic_increasing:
        out = out.sort_index()
    if out.index.has_duplicates:
        raise FusionDataError(
            f"{what}: repeated bar times, e.g. {out.index[out.index.duplicated()][0]}"
        )
    prices = out[["open", "high", "low", "close"]].to_numpy()
    if not np.isfinite(prices).all() or (prices <= 0).any():
        raise FusionDataError(f"{what}: prices must be finite and positive")
    if not np.isfinite(out["volume"].to_numpy()).all() or (out["volume"] < 0).any():
        raise FusionDataError(f"{what}: volumes must be finite and not negative")
    bar = timeframe_delta(timeframe)
    if len(out) > 1 and (np.diff(out.index.asi8) < bar.value).any():
        raise FusionDataError(f"{what}: bars closer together than one {timeframe} bar")
    return out


def validate_onchain(frame: pd.DataFrame, what: str = "on-chain") -> pd.DataFrame:
    """Daily metrics, one row per UTC day (index at midnight), numeric columns, NaN = missing."""
    out = frame.apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = _utc_index(frame.index, what)
    out.index.name = "day"
    if len(out) and (out.index != out.index.normalize()).any():
        raise FusionDataError(f"{what}: rows must be whole UTC days (midnight)")
    out = out.sort_index()
    if out.index.has_duplicates:
        raise FusionDataError(f"{what}: repeated days")
    return out


def validate_sentiment(frame: pd.DataFrame, what: str = "sentiment") -> pd.DataFrame:
    """Index points as rows (see :data:`SENTIMENT_COLUMNS`); ``asof`` at or after bucket end."""
    missing = [c for c in SENTIMENT_COLUMNS if c not in frame.columns]
    if missing:
        raise FusionDataError(f"{what}: missing columns {', '.join(missing)}")
    out = frame.loc[:, list(SENTIMENT_COLUMNS)].copy()
    for col in ("ts", "asof"):
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[ns, UTC]")
    out["freq"] = out["freq"].astype(str)
    out["family"] = out["family"].astype(str)
    for col in ("n_docs", "mean", "dispersion", "index", "zscore"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    widths = {f: pd.Timedelta(parse_duration(f)) for f in out["freq"].unique()}
    ends = out["ts"] + pd.to_timedelta(out["freq"].map(widths))
    if (out["asof"] < ends).any():
        raise FusionDataError(f"{what}: a point's asof is before its bucket ends")
    if out.duplicated(["ts", "freq", "family"]).any():
        raise FusionDataError(f"{what}: repeated (ts, freq, family) points")
    return out.sort_values(["freq", "family", "ts"], kind="mergesort").reset_index(drop=True)


def index_points_frame(points: Iterable[IndexPoint]) -> pd.DataFrame:
    """nlp/index.py's points as the sentiment frame the engine reads."""
    rows = [
        {
            "ts": p.ts,
            "freq": p.freq.value,
            "family": p.family,
            "asof": p.asof,
            "n_docs": p.n_docs,
            "mean": p.mean,
            "dispersion": p.dispersion,
            "index": p.index,
            "zscore": p.zscore,
        }
        for p in points
    ]
    return validate_sentiment(pd.DataFrame(rows, columns=list(SENTIMENT_COLUMNS)))


def empty_sentiment() -> pd.DataFrame:
    return validate_sentiment(pd.DataFrame(columns=list(SENTIMENT_COLUMNS)))


def empty_onchain() -> pd.DataFrame:
    return validate_onchain(pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC")))


# --- the bundle -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketData:
    """One asset at one timeframe: what the feature builder reads.

    ``candles`` is indexed by bar open time; ``onchain`` by UTC day; ``sentiment`` holds index
    points of every family and frequency. ``asof`` is the time the bundle describes (None: all
    history). Build through a provider or :meth:`of`, which validates the frames.
    """

    asset: str
    timeframe: str
    candles: pd.DataFrame
    onchain: pd.DataFrame
    sentiment: pd.DataFrame
    onchain_lag: pd.Timedelta
    asof: pd.Timestamp | None = None

    @classmethod
    def of(
        cls,
        asset: str,
        timeframe: str,
        candles: pd.DataFrame,
        onchain: pd.DataFrame | None = None,
        sentiment: pd.DataFrame | None = None,
        *,
        onchain_lag: timedelta | str = "1d",
    ) -> MarketData:
        lag = parse_duration(onchain_lag) if isinstance(onchain_lag, str) else onchain_lag
        return cls(
            asset=asset.upper(),
            timeframe=timeframe,
            candles=validate_candles(candles, timeframe),
            onchain=empty_onchain() if onchain is None else validate_onchain(onchain),
            sentiment=empty_sentiment() if sentiment is None else validate_sentiment(sentiment),
            onchain_lag=pd.Timedelta(lag),
        )

    @property
    def bar(self) -> pd.Timedelta:
        return timeframe_delta(self.timeframe)

    @property
    def close_times(self) -> pd.DatetimeIndex:
        """Decision times: the close of each bar, when its candle becomes known."""
        return self.candles.index + self.bar

    def onchain_available_at(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.onchain.index + DAY + self.onchain_lag)

    def sentiment_available_at(self) -> pd.Series:
        return self.sentiment["asof"]

    def asof_view(self, t: datetime | pd.Timestamp) -> MarketData:
        """What was known at ``t``: the as-of rules of this module, applied to this bundle."""
        t = utc_timestamp(t)
        return replace(
            self,
            candles=self.candles.loc[self.close_times <= t],
            onchain=self.onchain.loc[self.onchain_available_at() <= t],
            sentiment=self.sentiment.loc[self.sentiment_available_at() <= t].reset_index(drop=True),
            asof=t if self.asof is None else min(t, self.asof),
        )

    def since(self, start: datetime | pd.Timestamp) -> MarketData:
        """History from ``start`` on (the warm-up check feeds the builder less of the past)."""
        start = utc_timestamp(start)
        return replace(
            self,
            candles=self.candles.loc[self.candles.index >= start],
            onchain=self.onchain.loc[self.onchain.index >= start],
            sentiment=self.sentiment.loc[self.sentiment["ts"] >= start].reset_index(drop=True),
        )

    def span(self) -> dict[str, dict[str, object]]:
        """Rows and first/last times of each input: how much history a run stands on."""

        def desc(index: pd.Index) -> dict[str, object]:
            if len(index) == 0:
                return {"rows": 0, "first": None, "last": None}
            return {"rows": len(index), "first": iso(index.min()), "last": iso(index.max())}

        return {
            "candles": desc(self.candles.index),
            "onchain": desc(self.onchain.index),
            "sentiment": desc(pd.DatetimeIndex(self.sentiment["ts"])),
        }

    def content_hash(self) -> str:
        """SHA-256 of the three frames' contents, index included: the run's data identity."""
        h = hashlib.sha256()
        for name, frame in (
            ("candles", self.candles),
            ("onchain", self.onchain.reindex(sorted(self.onchain.columns), axis=1)),
            ("sentiment", self.sentiment),
        ):
            h.update(name.encode())
            h.update(",".join(map(str, frame.columns)).encode())
            h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return h.hexdigest()


def iso(t: pd.Timestamp | datetime) -> str:
    """One spelling of times in reports: ISO 8601, UTC, ``Z``."""
    return utc_timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- providers ------------------------------------------------------------------------------


@runtime_checkable
class DataProvider(Protocol):
    """Market data for an asset and timeframe as known at ``asof`` (None: everything).

    Implementations: :class:`FrameProvider` (frames in memory) and
    :class:`fusion.store_provider.StoreProvider` (the store, as-of reads in SQL). Both pass
    tests/fusion/provider_contract.py.
    """

    def assets(self) -> list[str]: ...

    def market_data(
        self, asset: str, timeframe: str, asof: datetime | None = None
    ) -> MarketData: ...


class FrameProvider:
    """A provider over frames held in memory: tests, the benchmark and runs from CSV files.

    ``candles`` maps (asset, timeframe) to a candle frame; ``onchain`` and ``sentiment`` map an
    asset to its frames. Frames are validated once, here.
    """

    def __init__(
        self,
        candles: Mapping[tuple[str, str], pd.DataFrame],
        onchain: Mapping[str, pd.DataFrame] | None = None,
        sentiment: Mapping[str, pd.DataFrame] | None = None,
        *,
        onchain_lag: timedelta | str = "1d",
    ) -> None:
        self._data: dict[tuple[str, str], MarketData] = {}
        onchain = {k.upper(): v for k, v in (onchain or {}).items()}
        sentiment = {k.upper(): v for k, v in (sentiment or {}).items()}
        for (asset, timeframe), frame in candles.items():
            key = (asset.upper(), timeframe)
            self._data[key] = MarketData.of(
                key[0],
                timeframe,
                frame,
                onchain.get(key[0]),
                sentiment.get(key[0]),
                onchain_lag=onchain_lag,
            )

    def assets(self) -> list[str]:
        return sorted({a for a, _ in self._data})

    def timeframes(self, asset: str) -> list[str]:
        return sorted(tf for a, tf in self._data if a == asset.upper())

    def market_data(self, asset: str, timeframe: str, asof: datetime | None = None) -> MarketData:
        key = (asset.upper(), timeframe)
        if key not in self._data:
            if key[0] not in self.assets():
                known = ", ".join(self.assets()) or "none"
                raise FusionDataError(f"unknown asset {asset!r}; known: {known}")
            have = ", ".join(self.timeframes(asset))
            raise FusionDataError(f"no {timeframe} candles for {key[0]}; timeframes: {have}")
        data = self._data[key]
        return data if asof is None else data.asof_view(asof)
