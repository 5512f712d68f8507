"""Block-bootstrap comparisons and their plain statements; causal regime labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fusion.ablation import block_length, compare, not_run
from fusion.backtest import Backtest
from fusion.regimes import label_regimes, regime_table
from tests.fusion import synthetic


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(
        values, index=pd.date_range("2022-01-01", periods=len(values), freq="h", tz="UTC")
    )


def test_noise_added_to_the_same_strategy_is_no_measurable_edge() -> None:
    rng = np.random.default_rng(0)
    base = 0.0002 + 0.01 * rng.standard_normal(3000)
    with_sentiment = base + 0.001 * rng.standard_normal(3000)
    c = compare(
        "price_onchain_sentiment",
        "price_onchain",
        "sentiment",
        _series(with_sentiment),
        _series(base),
        8760,
        reps=300,
        confidence=0.95,
        seed=1,
    )
    assert c.sharpe_diff.low is not None and c.sharpe_diff.low < 0 < (c.sharpe_diff.high or 0)
    assert c.verdict == "no measurable difference"
    assert c.statement().startswith("no measurable edge from sentiment")


def test_a_clearly_better_arm_is_reported_better() -> None:
    rng = np.random.default_rng(1)
    base = 0.01 * rng.standard_normal(3000)
    better = base + 0.002
    c = compare(
        "price",
        "buy_and_hold",
        "a price model",
        _series(better),
        _series(base),
        8760,
        reps=300,
        confidence=0.95,
        seed=2,
    )
    assert c.verdict == "better" and c.sharpe_diff.low is not None and c.sharpe_diff.low > 0
    assert "raises the Sharpe ratio" in c.statement()


def test_bootstrap_intervals_repeat_with_the_seed() -> None:
    rng = np.random.default_rng(2)
    a, b = _series(0.01 * rng.standard_normal(500)), _series(0.01 * rng.standard_normal(500))
    x = compare("x", "y", "z", a, b, 365, reps=200, confidence=0.9, seed=7)
    y = compare("x", "y", "z", a, b, 365, reps=200, confidence=0.9, seed=7)
    assert x == y


def test_block_length_follows_serial_dependence() -> None:
    rng = np.random.default_rng(3)
    e = rng.standard_normal(4000)
    ar = np.zeros(4000)
    for t in range(1, 4000):
        ar[t] = 0.9 * ar[t - 1] + e[t]
    assert block_length(ar) > 5 * block_length(e)
    assert block_length(np.zeros(100)) >= 1.0


def test_too_few_common_bars_and_missing_arms_are_not_compared() -> None:
    short = _series(np.zeros(10))
    assert (
        compare("a", "b", "c", short, short, 365, reps=100, confidence=0.9, seed=0).verdict
        == "not run"
    )
    assert not_run("s", "p", "sentiment", "no sentiment history").statement() == (
        "sentiment: not compared (no sentiment history)"
    )


def test_regimes_label_a_calm_trend_a_flat_range_and_a_volatility_spike() -> None:
    n = 24 * 200
    rng = np.random.default_rng(4)
    rets = 0.002 * rng.standard_normal(n)
    rets[24 * 90 : 24 * 118] = 0.002 * np.resize([1.0, -1.0], 24 * 28)  # a tight zigzag
    rets[24 * 120 : 24 * 150] += 0.003  # a steady climb
    rets[24 * 170 : 24 * 175] *= 10  # a volatility spike
    c = synthetic.candles(n, "1h", seed=4)
    close = 100 * np.exp(np.cumsum(rets))
    c["close"] = close
    c["open"] = np.concatenate([[100.0], close[:-1]])
    c["high"] = np.maximum(c["open"], c["close"]) * 1.0005
    c["low"] = np.minimum(c["open"], c["close"]) * 0.9995
    c.index = c.index + pd.Timedelta(hours=1)
    labels = label_regimes(c, pd.Timedelta(hours=1))
    assert (labels.iloc[: 24 * 80] == "unknown").all()  # 90 days of volatility history first
    assert (labels.iloc[24 * 171 : 24 * 175] == "high_vol").mean() > 0.9
    assert (labels.iloc[24 * 125 : 24 * 150] == "trending").mean() > 0.8
    assert (labels.iloc[24 * 95 : 24 * 118] == "ranging").mean() > 0.5
    # causal: labels from a truncated history equal the full run's
    cut = labels.iloc[: 24 * 160]
    assert label_regimes(c.iloc[: 24 * 160], pd.Timedelta(hours=1)).equals(cut)


def test_regime_table_splits_each_arms_bars() -> None:
    idx = pd.date_range("2022-01-01", periods=6, freq="h", tz="UTC")
    net = pd.Series([0.01, 0.02, -0.01, 0.0, 0.03, -0.02], index=idx)
    w = pd.Series(1.0, index=idx)
    bt = Backtest(position=w, gross=net, cost=net * 0, net=net)
    labels = pd.Series(
        ["trending", "trending", "ranging", "ranging", "high_vol", "unknown"], index=idx
    )
    rows = regime_table({"price": bt}, labels, 8760)
    by = {r["regime"]: r for r in rows}
    assert by["trending"]["bars"] == 2 and by["trending"]["total_return"] == (1.01 * 1.02 - 1)
    assert by["high_vol"]["share"] == 1 / 6
    assert set(by) == {"trending", "ranging", "high_vol", "unknown"}
