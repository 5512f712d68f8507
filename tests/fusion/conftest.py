"""Fixtures for the fusion tests: small constructed data and settings sized for seconds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.settings import FusionSettings
from fusion.data import FrameProvider, MarketData
from tests.fusion import synthetic


def fast_settings(**overrides: Any) -> FusionSettings:
    """Short windows and few trees: a walk-forward of a few thousand bars in seconds."""
    base: dict[str, Any] = {
        "horizon": "1h",
        "train_days": 30,
        "test_days": 10,
        "embargo_days": 0,
        "min_train_rows": 100,
        "bootstrap_reps": 200,
        "model": {"n_estimators": 40, "max_depth": 3},
    }
    base.update(overrides)
    return FusionSettings(**base)


@pytest.fixture
def hourly() -> MarketData:
    """80 days of hourly bars with on-chain and sentiment from day 10."""
    n = 24 * 80
    start = synthetic.START
    return MarketData.of(
        "BTC",
        "1h",
        synthetic.candles(n, "1h", seed=11),
        synthetic.onchain(80, seed=12),
        synthetic.sentiment(start + pd.Timedelta(days=10), start + pd.Timedelta(hours=n)),
    )


@pytest.fixture
def hourly_provider(hourly: MarketData) -> FrameProvider:
    return FrameProvider(
        {("BTC", "1h"): hourly.candles},
        {"BTC": hourly.onchain},
        {"BTC": hourly.sentiment},
    )


def predictable_candles(n: int, seed: int = 21, strength: float = 0.006) -> pd.DataFrame:
    """Hourly bars whose next return leans on this bar's volume spike: learnable, causal."""
    rng = np.random.default_rng(seed)
    signal = strength * np.sign(rng.standard_normal(n))
    c = synthetic.candles(n, "1h", seed=seed, signal=signal)
    c["volume"] = np.exp(3.0 + 1.5 * np.sign(signal) + 0.1 * rng.standard_normal(n))
    return c
