"""Target timing, fold planning (purge, embargo, no overlap), and the fitted model."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fusion.data import FusionDataError, MarketData
from fusion.features import build_features
from fusion.model import Calibrator, FusionModel
from fusion.target import direction, forward_return
from fusion.walkforward import plan_folds, run_walkforward, window_bars
from tests.fusion.conftest import fast_settings, predictable_candles

HOUR = pd.Timedelta(hours=1)


def _bars(opens: list[float], closes: list[float]) -> pd.DataFrame:
    idx = pd.date_range("2022-01-01", periods=len(opens), freq="h", tz="UTC")
    return pd.DataFrame({"open": opens, "close": closes}, index=idx)


def test_forward_return_runs_from_next_open_to_the_horizons_close() -> None:
    c = _bars([10, 11, 12, 13, 14], [10.5, 11.5, 12.5, 13.5, 14.5])
    fwd = forward_return(c, 2)
    assert fwd.iloc[0] == pytest.approx(12.5 / 11 - 1)  # fill at bar 1's open, exit bar 2's close
    assert fwd.iloc[2] == pytest.approx(14.5 / 13 - 1)
    assert fwd.iloc[3:].isna().all()


def test_moves_inside_the_dead_zone_are_not_labelled() -> None:
    fwd = pd.Series([0.01, -0.01, 0.0005, -0.0002, np.nan])
    up = direction(fwd, dead_zone_bps=10)
    assert up.tolist()[:2] == [1.0, 0.0]
    assert up.iloc[2:].isna().all()


def test_folds_purge_the_horizon_and_embargo_and_never_overlap() -> None:
    times = pd.date_range("2022-01-01", periods=24 * 100, freq="h", tz="UTC")
    s = fast_settings(train_days=30, test_days=5, embargo_days=1)
    folds = plan_folds(times, HOUR, s, horizon=6, first_row=50)
    train, test, embargo = window_bars(HOUR, s)
    assert (train, test, embargo) == (720, 120, 24)
    assert folds[0].test_start == 50 + 720 + 6 + 24
    for f in folds:
        assert f.test_start - f.train_end == 6 + 24  # purge (horizon) + embargo
        # every train label (known at row + horizon) is known before the test starts
        assert (f.train_end - 1) + 6 < f.test_start
        assert f.train_end - f.train_start == 720
    for a, b in itertools.pairwise(folds):
        assert a.test_end == b.test_start
    assert folds[-1].test_end == len(times)


def test_expanding_window_keeps_the_first_row() -> None:
    times = pd.date_range("2022-01-01", periods=24 * 60, freq="h", tz="UTC")
    folds = plan_folds(times, HOUR, fast_settings(window="expanding"), horizon=1, first_row=7)
    assert {f.train_start for f in folds} == {7}
    assert folds[-1].train_end - folds[-1].train_start > folds[0].train_end - folds[0].train_start


def test_too_few_bars_for_one_fold_is_one_clear_error() -> None:
    times = pd.date_range("2022-01-01", periods=100, freq="h", tz="UTC")
    with pytest.raises(FusionDataError, match="too few bars for one walk-forward fold"):
        plan_folds(times, HOUR, fast_settings(), horizon=1)


def test_test_from_moves_the_first_test_window() -> None:
    times = pd.date_range("2022-01-01", periods=24 * 100, freq="h", tz="UTC")
    folds = plan_folds(times, HOUR, fast_settings(), 1, test_from=times[2000])
    assert folds[0].test_start == 2000


def test_walkforward_finds_a_planted_causal_edge_out_of_sample() -> None:
    md = MarketData.of("BTC", "1h", predictable_candles(24 * 90))
    frame = build_features(md)
    s = fast_settings()
    up = direction(forward_return(md.candles.set_axis(frame.values.index), 1), 0.0)
    first = int(np.flatnonzero(frame.coverage["price"].to_numpy())[0])
    folds = plan_folds(frame.values.index, md.bar, s, 1, first_row=first)
    wf = run_walkforward(frame, up, folds, ["price"], s, 1)
    oos = wf.prob.notna()
    hits = ((wf.prob[oos] > 0.5) == (up[oos] == 1.0))[up[oos].notna()]
    assert hits.mean() > 0.62
    assert max(wf.importance, key=lambda k: wf.importance[k]) == "volume_ratio_24"
    assert all(f.skipped is None for f in wf.folds)
    assert {f.calibration for f in wf.folds} == {"sigmoid"}  # small slices: sigmoid


def test_walkforward_is_deterministic() -> None:
    md = MarketData.of("BTC", "1h", predictable_candles(24 * 60, seed=5))
    frame = build_features(md)
    s = fast_settings()
    up = direction(forward_return(md.candles.set_axis(frame.values.index), 1), 0.0)
    folds = plan_folds(frame.values.index, md.bar, s, 1, first_row=300)
    a = run_walkforward(frame, up, folds, ["price"], s, 1)
    b = run_walkforward(frame, up, folds, ["price"], s, 1)
    assert np.array_equal(a.prob.to_numpy(), b.prob.to_numpy(), equal_nan=True)


def test_fold_with_too_few_usable_rows_is_skipped_with_the_reason() -> None:
    md = MarketData.of("BTC", "1h", predictable_candles(24 * 60, seed=5))
    frame = build_features(md)
    s = fast_settings(min_train_rows=5000)
    up = direction(forward_return(md.candles.set_axis(frame.values.index), 1), 0.0)
    folds = plan_folds(frame.values.index, md.bar, s, 1, first_row=300)
    wf = run_walkforward(frame, up, folds, ["price"], s, 1)
    assert wf.oos_rows == 0
    assert "min_train_rows 5000" in (wf.folds[0].skipped or "")


def test_isotonic_calibration_maps_overconfident_scores_back() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 4000)
    y = (rng.uniform(0, 1, 4000) < 0.5 + 0.2 * (raw - 0.5)).astype(int)  # truth is flatter
    cal = Calibrator.fit(raw, y, "auto")
    assert cal.method == "isotonic"
    assert cal(np.array([0.95]))[0] < 0.7
    assert Calibrator.fit(raw[:20], y[:20], "auto").method == "identity"


def test_model_contributions_add_up_to_its_raw_log_odds() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.standard_normal((400, 3)), columns=["a", "b", "c"])
    y = (x["a"] + 0.3 * rng.standard_normal(400) > 0).astype(int).to_numpy()
    s = fast_settings()
    m = FusionModel(["a", "b", "c"], s.model).fit(x, y)
    contrib = m.contributions(x.iloc[:5])
    raw = m._raw(x.iloc[:5])
    assert np.allclose(1 / (1 + np.exp(-contrib.sum(axis=1))), raw, atol=1e-5)
    assert m.importance()["a"] > 0.8
