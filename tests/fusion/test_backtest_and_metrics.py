"""Fill timing, costs, sizing, and metrics annualised for the bar size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fusion.backtest import bar_returns, buy_and_hold, positions, run_backtest
from fusion.metrics import calibration_error, max_drawdown, performance, sharpe, sortino
from tests.fusion.conftest import fast_settings


def _idx(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2022-01-01 01:00", periods=n, freq="h", tz="UTC")


def test_a_signal_at_bar_close_earns_from_the_next_open_to_the_one_after() -> None:
    c = pd.DataFrame(
        {"open": [100.0, 101.0, 103.0, 99.0], "close": [101.0, 103.0, 99.0, 98.0]}, index=_idx(4)
    )
    r = bar_returns(c)
    assert r.iloc[0] == pytest.approx(103.0 / 101.0 - 1)
    assert r.iloc[1] == pytest.approx(99.0 / 103.0 - 1)
    assert r.iloc[2:].isna().all()


def test_costs_are_charged_on_traded_notional_at_each_change() -> None:
    r = pd.Series([0.01, -0.02, 0.03, 0.0], index=_idx(4))
    w = pd.Series([1.0, 1.0, -0.5, 0.0], index=_idx(4))
    bt = run_backtest(w, r, cost_rate=0.001)
    assert bt.cost.tolist() == pytest.approx([0.001, 0.0, 0.0015, 0.0005])
    assert bt.net.tolist() == pytest.approx([0.009, -0.02, -0.0165, -0.0005])
    assert bt.equity.iloc[-1] == pytest.approx(np.prod(1 + bt.net.to_numpy()))


def test_buy_and_hold_pays_one_entry() -> None:
    r = pd.Series([0.01, 0.02, np.nan], index=_idx(3))
    bt = buy_and_hold(r, 0.0015)
    assert len(bt.net) == 2
    assert bt.cost.sum() == pytest.approx(0.0015)


def test_positions_take_a_capped_fraction_of_kelly() -> None:
    s = fast_settings(kelly_fraction=0.5, max_position=0.3, vol_target=None)
    p = pd.Series([0.5, 0.6, 0.9, 0.2, np.nan], index=_idx(5))
    w = positions(p, pd.Series(0.5, index=p.index), s)
    assert w.tolist() == pytest.approx([0.0, 0.1, 0.3, -0.3, 0.0])


def test_volatility_targeting_only_scales_down() -> None:
    s = fast_settings(kelly_fraction=1.0, vol_target=0.5)
    p = pd.Series([0.7, 0.7, 0.7], index=_idx(3))
    w = positions(p, pd.Series([1.0, 0.25, np.nan], index=p.index), s)
    assert w.tolist() == pytest.approx([0.2, 0.4, 0.0])  # halved, kept (not doubled), unknown


def test_long_only_and_min_edge_flatten_positions() -> None:
    s = fast_settings(long_only=True, vol_target=None, min_edge=0.05)
    p = pd.Series([0.3, 0.53, 0.6], index=_idx(3))
    assert positions(p, pd.Series(0.5, index=p.index), s).tolist() == pytest.approx([0, 0, 0.1])


def test_sharpe_is_annualised_with_every_hour_of_the_year() -> None:
    r = np.array([0.001, -0.0005, 0.002, 0.0, 0.0015])
    per_bar = r.mean() / r.std(ddof=1)
    assert sharpe(r, 8760) == pytest.approx(per_bar * math.sqrt(8760))
    assert sharpe(r, 365) == pytest.approx(per_bar * math.sqrt(365))
    down = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert sortino(r, 8760) == pytest.approx(r.mean() / down * math.sqrt(8760))


def test_max_drawdown_of_a_known_path() -> None:
    r = np.array([0.1, -0.5, 0.2, 0.5])  # equity 1.1, 0.55, 0.66, 0.99
    assert max_drawdown(r) == pytest.approx(0.55 / 1.1 - 1)


def test_performance_of_a_known_series() -> None:
    idx = _idx(4)
    net = pd.Series([0.02, -0.01, 0.0, 0.03], index=idx)
    w = pd.Series([1.0, 1.0, 0.0, -1.0], index=idx)
    fwd = pd.Series([0.02, -0.01, 0.05, -0.03], index=idx)
    prob = pd.Series([0.6, 0.7, 0.5, 0.2], index=idx)
    up = pd.Series([1.0, 0.0, 1.0, 0.0], index=idx)
    m = performance(net, w, 365, fwd=fwd, prob=prob, up=up)
    assert m["total_return"] == pytest.approx(1.02 * 0.99 * 1.03 - 1)
    assert m["annual_return"] == pytest.approx((1.02 * 0.99 * 1.03) ** (365 / 4) - 1)
    assert m["win_rate"] == pytest.approx(2 / 3)
    assert m["profit_factor"] == pytest.approx(0.05 / 0.01)
    assert m["exposure"] == pytest.approx(0.75)
    assert m["hit_rate"] == pytest.approx(2 / 3)  # long +, long - (miss), short -
    assert m["turnover"] == pytest.approx((1 + 0 + 1 + 1) / 4 * 365)
    assert m["brier"] == pytest.approx((0.16 + 0.49 + 0.25 + 0.04) / 4)
    assert m["ic"] is not None


def test_metrics_without_spread_are_none_not_zero() -> None:
    idx = _idx(3)
    m = performance(pd.Series(0.0, index=idx), pd.Series(0.0, index=idx), 8760)
    assert m["sharpe"] is None and m["win_rate"] is None and m["profit_factor"] is None


def test_calibration_error_of_a_perfectly_calibrated_forecast_is_small() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, 50_000) < p).astype(float)
    assert calibration_error(p, y) < 0.01
    assert calibration_error(np.full(100, 0.9), np.zeros(100)) == pytest.approx(0.9)
