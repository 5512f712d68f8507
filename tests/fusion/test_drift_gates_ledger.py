"""Drift, the promotion and risk gates, and the forward ledger on constructed data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from core.settings import FusionDriftSettings, FusionGateSettings, FusionRiskSettings
from fusion.data import MarketData
from fusion.drift import drift_report, psi
from fusion.gates import (
    HOLD,
    RiskContext,
    promotion_gate,
    risk_context,
    risk_gate,
    trailing_return,
)
from fusion.ledger import build_ledger
from tests.fusion import synthetic

RNG = np.random.default_rng(0)


def _frame(shift: float = 0.0, scale: float = 1.0, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(int(shift * 10 + scale * 100))
    return pd.DataFrame(
        {
            "a": shift + scale * rng.standard_normal(n),
            "b": rng.standard_normal(n),
            "c": rng.exponential(1.0, n),
        }
    )


# --- drift ----------------------------------------------------------------------------------


def test_same_distribution_does_not_drift() -> None:
    r = drift_report(_frame(), _frame(0.0, 1.0, 500).iloc[::-1], FusionDriftSettings())
    assert not r.stale and r.drifted == [] and r.reason is None


def test_a_shifted_feature_drifts_and_marks_the_model_stale() -> None:
    s = FusionDriftSettings(max_drifted_share=0.2)
    r = drift_report(_frame(), _frame(shift=1.0, n=500), s)
    assert r.drifted == ["a"]
    a = r.features[0]
    assert a.ks is not None and a.ks > 0.3 and a.psi is not None and a.psi > 0.25
    assert r.stale and r.retrain_recommended and "a" in (r.reason or "")


def test_one_drifted_feature_of_many_is_tolerated_by_the_share() -> None:
    r = drift_report(_frame(), _frame(shift=1.0, n=500), FusionDriftSettings(max_drifted_share=0.5))
    assert r.drifted == ["a"] and not r.stale


def test_drift_of_prediction_confidence_alone_marks_stale() -> None:
    calm = 0.5 + 0.02 * RNG.standard_normal(2000)
    wild = 0.5 + 0.2 * RNG.standard_normal(300)
    r = drift_report(
        _frame(), _frame(n=300), FusionDriftSettings(), train_prob=calm, recent_prob=wild
    )
    assert r.confidence is not None and r.confidence.drifted
    assert r.stale and r.reason == "prediction confidence drifted"


def test_psi_of_identical_samples_is_zero_and_grows_with_shift() -> None:
    x = RNG.standard_normal(5000)
    assert psi(x, x) == pytest.approx(0.0)
    assert psi(x, x + 0.5) < psi(x, x + 1.0)  # type: ignore[operator]
    assert psi(x[:5], x) is None


# --- promotion gate -------------------------------------------------------------------------

GOOD = {"sharpe": 1.2, "hit_rate": 0.55, "calibration_error": 0.03, "bars": 5000}


def test_a_card_that_clears_every_threshold_is_promoted() -> None:
    d = promotion_gate(GOOD, 0.2, FusionGateSettings())
    assert d.passed and d.verdict == "promoted"


def test_a_failing_card_gives_no_model_with_every_reason() -> None:
    bad = {**GOOD, "sharpe": 0.1, "calibration_error": 0.2}
    d = promotion_gate(bad, 0.7, FusionGateSettings())
    assert not d.passed
    assert d.verdict.startswith("no model: out-of-sample Sharpe 0.1 < 0.5")
    assert len(d.reasons) == 3 and "overfitting 0.7 > 0.5" in d.reasons[2]


def test_unknown_figures_do_not_pass_the_gate() -> None:
    d = promotion_gate({"sharpe": None, "bars": 10}, None, FusionGateSettings())
    assert not d.passed and len(d.reasons) == 5


# --- risk gate ------------------------------------------------------------------------------

NOW = pd.Timestamp("2022-03-01 12:00", tz="UTC").to_pydatetime()
CLEAR = RiskContext(now=NOW, data_age_bars=0.0, vol_z=0.5, day_return=0.01, sentiment_z=1.0)


def test_a_clear_context_passes_the_signal_through() -> None:
    d = risk_gate("long", 0.4, CLEAR, FusionRiskSettings())
    assert (d.action, d.position, d.held) == ("long", 0.4, False)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"data_age_bars": 5.0}, "stale data"),
        ({"vol_z": 6.0}, "extreme volatility"),
        ({"day_return": -0.08}, "daily drawdown"),
        ({"sentiment_z": -5.0}, "sentiment shock"),
        ({"drift_stale": True, "drift_reason": "40% of features drifted"}, "drift: 40%"),
    ],
)
def test_each_risk_rule_turns_the_signal_into_hold(change: dict[str, object], reason: str) -> None:
    ctx = RiskContext(**{**CLEAR.__dict__, **change})  # type: ignore[arg-type]
    d = risk_gate("long", 0.4, ctx, FusionRiskSettings())
    assert d.action == HOLD and d.position == 0.0
    assert len(d.reasons) == 1 and d.reasons[0].startswith(reason)


def test_a_volatility_spike_in_the_candles_trips_the_gate() -> None:
    n = 24 * 40
    c = synthetic.candles(n, "1h", seed=3, vol=0.005)
    spike = c.index[-6:]
    jumps = np.array([1.06, 0.93, 1.08, 0.94, 1.07, 0.95])
    close = c["close"].to_numpy().copy()
    for i, k in enumerate(range(n - 6, n)):
        close[k] = close[k - 1] * jumps[i]
    c["close"] = close
    c["open"] = np.concatenate([[100.0], close[:-1]])
    c["high"] = np.maximum(c["open"], c["close"])
    c["low"] = np.minimum(c["open"], c["close"])
    md = MarketData.of("BTC", "1h", c)
    now = spike[-1] + pd.Timedelta(hours=1, minutes=5)
    ctx = risk_context(md, now.to_pydatetime())
    assert ctx.data_age_bars == pytest.approx(5 / 60)
    assert ctx.vol_z is not None and ctx.vol_z > 4
    assert (
        risk_gate("short", -0.3, ctx, FusionRiskSettings())
        .reasons[0]
        .startswith("extreme volatility")
    )
    calm = risk_context(md.asof_view(spike[0]), spike[0].to_pydatetime())
    assert calm.vol_z is not None and calm.vol_z < 4


def test_risk_context_reads_the_newest_known_sentiment_zscore() -> None:
    start = synthetic.START
    sent = synthetic.sentiment(start, start + pd.Timedelta(hours=48), empty_share=0.0)
    sent["zscore"] = 0.0
    sent.loc[
        (sent["family"] == "all") & (sent["ts"] == start + pd.Timedelta(hours=40)), "zscore"
    ] = 6.0
    md = MarketData.of("BTC", "1h", synthetic.candles(48), sentiment=sent)
    at = start + pd.Timedelta(hours=41)
    assert risk_context(md.asof_view(at), at.to_pydatetime()).sentiment_z == 6.0
    early = start + pd.Timedelta(hours=40, minutes=59)
    assert risk_context(md.asof_view(early), early.to_pydatetime()).sentiment_z == 0.0


def test_trailing_return_compounds_the_last_day() -> None:
    idx = pd.date_range("2022-01-01", periods=48, freq="h", tz="UTC")
    net = pd.Series(0.0, index=idx)
    net.iloc[-3:] = [-0.02, -0.02, -0.02]
    assert trailing_return(net, idx[-1].to_pydatetime()) == pytest.approx(0.98**3 - 1)


# --- ledger ---------------------------------------------------------------------------------


def test_ledger_joins_signals_with_known_outcomes() -> None:
    idx = pd.date_range("2022-01-01", periods=10, freq="h", tz="UTC")
    candles = pd.DataFrame(
        {"open": 100.0 + np.arange(10), "close": 100.5 + np.arange(10)}, index=idx
    )
    signals = pd.DataFrame(
        {
            "ts": [idx[1], idx[2], idx[3], idx[8]],  # decision times (bar closes)
            "horizon": ["2h", "2h", "1h", "2h"],
            "prob_up": [0.7, 0.4, 0.6, 0.8],
            "action": ["long", "short", "hold", "long"],
        }
    )
    ledger = build_ledger(signals, candles, "1h", cost_rate=0.001, asof=idx[6])
    rows = ledger.rows
    # long at ts 01:00 fills at the 01:00 bar's open (101) and exits at the close of the bar
    # ending 03:00 (102.5)
    assert rows.loc[0, "realised_return"] == pytest.approx(102.5 / 101 - 1)
    assert rows.loc[0, "net_return"] == pytest.approx(102.5 / 101 - 1 - 0.002)
    assert rows.loc[0, "hit"] == 1.0
    assert rows.loc[1, "hit"] == 0.0  # short into a rise
    assert np.isnan(rows.loc[2, "hit"]) and rows.loc[2, "net_return"] == 0.0  # hold: no trade
    assert rows.loc[3, "status"] == "pending"  # its horizon closes after asof
    s = ledger.summary
    assert (s.resolved, s.pending, s.traded) == (3, 1, 2)
    assert s.hit_rate == pytest.approx(0.5)
    assert rows["running_hit_rate"].tolist()[:2] == pytest.approx([1.0, 0.5])
    assert s.brier is not None


def test_ledger_outcome_is_not_counted_before_its_horizon_closes() -> None:
    idx = pd.date_range("2022-01-01", periods=6, freq="h", tz="UTC")
    candles = pd.DataFrame({"open": 100.0, "close": 101.0}, index=idx)
    signals = pd.DataFrame({"ts": [idx[1]], "horizon": ["2h"], "prob_up": [0.6], "position": [0.5]})
    before = build_ledger(signals, candles, "1h", 0.0, asof=(idx[3] - timedelta(seconds=1)))
    at = build_ledger(signals, candles, "1h", 0.0, asof=idx[3])
    assert before.summary.resolved == 0 and at.summary.resolved == 1
    assert at.rows.loc[0, "net_return"] == pytest.approx(0.5 * 0.01)


def test_ledger_reports_signals_whose_candles_are_missing() -> None:
    idx = pd.date_range("2022-01-01", periods=6, freq="h", tz="UTC")
    candles = pd.DataFrame({"open": 100.0, "close": 101.0}, index=idx).drop(idx[2])
    signals = pd.DataFrame(
        {"ts": [idx[1]], "horizon": ["2h"], "prob_up": [0.6], "action": ["long"]}
    )
    ledger = build_ledger(signals, candles, "1h", 0.0, asof=idx[5])
    assert ledger.summary.unresolvable == 1 and ledger.rows.loc[0, "status"] == "unresolvable"


def test_well_calibrated_ledger_has_small_calibration_error() -> None:
    n = 3000
    idx = pd.date_range("2022-01-01", periods=n + 2, freq="h", tz="UTC")
    rng = np.random.default_rng(5)
    p = rng.uniform(0.2, 0.8, n)
    up = rng.uniform(0, 1, n) < p
    opens = np.full(n + 2, 100.0)
    closes = opens.copy()
    closes[1 : n + 1] = np.where(up, 101.0, 99.0)
    candles = pd.DataFrame({"open": opens, "close": closes}, index=idx)
    signals = pd.DataFrame({"ts": idx[1 : n + 1], "horizon": "1h", "prob_up": p, "action": "long"})
    s = build_ledger(signals, candles, "1h", 0.0, asof=idx[-1]).summary
    assert s.resolved == n and s.calibration_error is not None and s.calibration_error < 0.05
