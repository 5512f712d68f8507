"""Constructed market data for the fusion tests: seeded, small, with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fusion.data import SENTIMENT_COLUMNS, timeframe_delta

START = pd.Timestamp("2021-01-01", tz="UTC")


def candles(
    n: int,
    timeframe: str = "1h",
    *,
    seed: int = 0,
    start: pd.Timestamp = START,
    drift: float = 0.0,
    vol: float = 0.01,
    signal: np.ndarray | None = None,
) -> pd.DataFrame:
    """A random walk of ``n`` bars; ``signal[t]`` (if given) is added to bar t+1's return, so a
    feature that knows ``signal`` at t can predict the next bar."""
    rng = np.random.default_rng(seed)
    rets = drift + vol * rng.standard_normal(n)
    if signal is not None:
        rets[1:] += signal[:-1]
    close = 100.0 * np.exp(np.cumsum(rets))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.standard_normal(n)) * vol * close * 0.5
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(3.0, 0.5, n)
    index = pd.date_range(start, periods=n, freq=timeframe_delta(timeframe), name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def onchain(days: int, *, seed: int = 1, start: pd.Timestamp = START) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days, freq="D", name="day")
    return pd.DataFrame(
        {
            "AdrActCnt": 900_000 * np.exp(np.cumsum(0.02 * rng.standard_normal(days))),
            "TxCnt": 250_000 * np.exp(np.cumsum(0.02 * rng.standard_normal(days))),
            "FeeTotNtv": 20 * np.exp(np.cumsum(0.05 * rng.standard_normal(days))),
            "HashRate": 1e8 * np.exp(np.cumsum(0.01 * rng.standard_normal(days))),
        },
        index=index,
    )


def sentiment(
    start: pd.Timestamp,
    end: pd.Timestamp,
    freq: str = "1h",
    *,
    seed: int = 2,
    families: tuple[str, ...] = ("all", "news", "reddit"),
    empty_share: float = 0.1,
) -> pd.DataFrame:
    """Index points like nlp/index.py's: ``asof`` at the bucket end; some buckets empty."""
    rng = np.random.default_rng(seed)
    width = timeframe_delta(freq)
    ts = pd.date_range(start, end, freq=width, inclusive="left")
    ts = ts[rng.random(len(ts)) >= empty_share]
    rows = []
    level = 0.0
    for t in ts:
        level = 0.9 * level + 0.1 * rng.standard_normal()
        parts = {fam: int(rng.integers(1, 20)) for fam in families if fam != "all"}
        for fam in families:
            n = sum(parts.values()) if fam == "all" else parts[fam]
            mean = float(np.clip(level + 0.2 * rng.standard_normal(), -1, 1))
            rows.append(
                {
                    "ts": t,
                    "freq": freq,
                    "family": fam,
                    "asof": t + width,
                    "n_docs": n,
                    "mean": mean,
                    "dispersion": float(abs(rng.standard_normal()) * 0.3),
                    "index": 50 + 50 * np.tanh(level),
                    "zscore": float(rng.standard_normal()) if rng.random() > 0.1 else None,
                }
            )
    return pd.DataFrame(rows, columns=list(SENTIMENT_COLUMNS))
