"""Price features: relative measures only, never a price level, computed with TA-Lib.

Every function reads the candles up to and including each row (TA-Lib's indicators and
pandas' rolling windows look only backwards), so a feature at decision time T depends on
candles that closed by T. Windows are counted in bars of the timeframe.

Warm-ups: windows of plain sums are exact after their length; Wilder and exponential
smoothing (RSI, ATR, ADX, EMA inside MACD) depend on their seed forever, with a weight that
decays geometrically; the declared warm-up is where that weight has fallen below the guard's
tolerance (1e-6 absolute, 1e-4 relative), with a margin over the most measured on the
Bitstamp BTC hourly/daily and ETH daily files: NATR 119 bars, RSI 183, MACD 168, ADX 176
(tests/fusion/test_real_data.py re-measures them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from fusion.features.base import FeatureSpec

RETURN_BARS: tuple[int, ...] = (1, 3, 6, 12, 24, 72)
VOL_BARS: tuple[int, ...] = (24, 72)
RSI_BARS = 14
ATR_BARS = 14
BB_BARS = 20
VOLUME_BARS = 24
RANGE_BARS = 24
SMA_GAP_BARS = 50
ADX_BARS = 14


def price_specs() -> list[FeatureSpec]:
    specs = [FeatureSpec(f"ret_{k}", "price", k) for k in RETURN_BARS]
    specs += [FeatureSpec(f"vol_{n}", "price", n) for n in VOL_BARS]
    specs += [
        FeatureSpec("natr_14", "price", 150),
        FeatureSpec("rsi_14", "price", 220),
        FeatureSpec("macd", "price", 200),
        FeatureSpec("macd_hist", "price", 200),
        FeatureSpec("bb_width_20", "price", BB_BARS - 1),
        FeatureSpec("volume_ratio_24", "price", VOLUME_BARS - 1),
        FeatureSpec("range_pos_24", "price", RANGE_BARS - 1),
        FeatureSpec("sma_gap_50", "price", SMA_GAP_BARS - 1),
        FeatureSpec("adx_14", "price", 220),
    ]
    return specs


def log_returns(close: pd.Series) -> pd.Series:
    return pd.Series(np.log(close.to_numpy()), index=close.index).diff()


def realised_vol(close: pd.Series, bars: int) -> pd.Series:
    """Sample standard deviation of one-bar log returns over ``bars`` bars (per bar)."""
    return log_returns(close).rolling(bars, min_periods=bars).std()


def adx(candles: pd.DataFrame, bars: int = ADX_BARS) -> pd.Series:
    """Average directional index (0-100): trend strength, whatever the direction."""
    h, low, c = (candles[k].to_numpy(np.float64) for k in ("high", "low", "close"))
    return pd.Series(talib.ADX(h, low, c, timeperiod=bars), index=candles.index)


def price_features(candles: pd.DataFrame) -> pd.DataFrame:
    """Features on the candles' own index (the builder passes decision times)."""
    h, low, c, v = (candles[k].to_numpy(np.float64) for k in ("high", "low", "close", "volume"))
    close = candles["close"]
    log_close = np.log(close)
    out: dict[str, np.ndarray] = {}
    for k in RETURN_BARS:
        out[f"ret_{k}"] = log_close.diff(k).to_numpy()
    for n in VOL_BARS:
        out[f"vol_{n}"] = realised_vol(close, n).to_numpy()
    out["natr_14"] = talib.NATR(h, low, c, timeperiod=ATR_BARS) / 100.0
    out["rsi_14"] = (talib.RSI(c, timeperiod=RSI_BARS) - 50.0) / 50.0
    macd, _signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    out["macd"] = macd / c
    out["macd_hist"] = hist / c
    upper, middle, lower = talib.BBANDS(c, timeperiod=BB_BARS, nbdevup=2.0, nbdevdn=2.0)
    out["bb_width_20"] = (upper - lower) / middle
    mean_volume = talib.SMA(v, timeperiod=VOLUME_BARS)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["volume_ratio_24"] = np.where(mean_volume > 0, v / mean_volume, np.nan)
        lo = talib.MIN(low, timeperiod=RANGE_BARS)
        hi = talib.MAX(h, timeperiod=RANGE_BARS)
        out["range_pos_24"] = np.where(hi > lo, (c - lo) / (hi - lo), np.nan)
    out["sma_gap_50"] = np.log(c / talib.SMA(c, timeperiod=SMA_GAP_BARS))
    out["adx_14"] = adx(candles).to_numpy() / 100.0
    return pd.DataFrame(out, index=candles.index, dtype=np.float64)
