"""The live path: a model fitted on what is known now, saved and read back, and the signal of
the newest bar through the gates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fusion.data import FrameProvider, FusionDataError, MarketData
from fusion.drift import DriftReport
from fusion.features import build_features
from fusion.gates import NO_MODEL, GateDecision
from fusion.model import FusionModel
from fusion.signal import fit_live_model, live_groups, live_signal
from tests.fusion import synthetic
from tests.fusion.conftest import fast_settings, predictable_candles

SETTINGS = fast_settings(vol_target=None)


@pytest.fixture(scope="module")
def provider() -> FrameProvider:
    return FrameProvider({("BTC", "1h"): predictable_candles(24 * 50, seed=31)})


@pytest.fixture(scope="module")
def model(provider: FrameProvider) -> FusionModel:
    now = synthetic.START + pd.Timedelta(days=45)
    return fit_live_model(provider.market_data("BTC", "1h", asof=now.to_pydatetime()), SETTINGS)


def test_live_model_trains_on_one_window_ending_at_now(model: FusionModel) -> None:
    assert model.train_rows + model.calibration_rows <= 24 * 30
    assert model.calibrator.method == "sigmoid"
    assert model.columns[0] == "ret_1" and "sent_level" not in model.columns


def test_saved_model_reads_back_with_the_same_predictions_and_version(
    model: FusionModel, provider: FrameProvider, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "models" / "btc-1h.json")
    again = FusionModel.load(path)
    x = build_features(provider.market_data("BTC", "1h")).values.iloc[-200:]
    assert np.array_equal(model.predict_proba(x), again.predict_proba(x))
    assert again.version == model.version and len(model.version) == 16
    assert not list(path.parent.glob("*.tmp"))


def test_live_signal_is_the_backtests_code_on_the_newest_bar(
    model: FusionModel, provider: FrameProvider
) -> None:
    now = synthetic.START + pd.Timedelta(days=46, minutes=10)
    sig = live_signal(provider, "BTC", "1h", now.to_pydatetime(), model, SETTINGS)
    assert pd.Timestamp(sig.t) == synthetic.START + pd.Timedelta(days=46)
    assert sig.data_age_bars == pytest.approx(10 / 60)
    x = build_features(provider.market_data("BTC", "1h", asof=now.to_pydatetime())).values
    assert sig.prob_up == pytest.approx(float(model.predict_proba(x.iloc[[-1]])[0]))
    assert sig.action in ("long", "short", "flat") and sig.reasons == ()
    assert math.copysign(1, sig.position) == (1 if sig.prob_up > 0.5 else -1)
    assert set(sig.contributions) == {*model.columns, "bias"}
    rec = sig.record()
    assert rec.model_version == model.version and rec.features_asof == sig.t


def test_without_a_promoted_model_the_signal_is_no_model_with_reasons(
    model: FusionModel, provider: FrameProvider
) -> None:
    now = (synthetic.START + pd.Timedelta(days=46)).to_pydatetime()
    gate = GateDecision(False, ("out-of-sample Sharpe 0.1 < 0.5",))
    sig = live_signal(provider, "BTC", "1h", now, model, SETTINGS, gate=gate)
    assert sig.action == NO_MODEL and sig.prob_up is None and sig.position == 0.0
    assert sig.reasons == gate.reasons
    assert live_signal(provider, "BTC", "1h", now, None, SETTINGS).reasons == ("no trained model",)


def test_drift_and_stale_data_make_the_signal_hold(
    model: FusionModel, provider: FrameProvider
) -> None:
    stale_now = (synthetic.START + pd.Timedelta(days=60)).to_pydatetime()  # data ends day 50
    drift = DriftReport((), None, 0.5, True, "50% of features drifted (a)")
    sig = live_signal(provider, "BTC", "1h", stale_now, model, SETTINGS, drift=drift)
    assert sig.action == "hold" and sig.position == 0.0
    assert [r.split(":")[0] for r in sig.reasons] == ["stale data", "drift"]
    assert sig.prob_up is not None  # the model's view is kept beside the gate's decision


def test_live_groups_take_the_richest_covered_arm() -> None:
    n = 24 * 60
    md = MarketData.of(
        "BTC",
        "1h",
        synthetic.candles(n),
        synthetic.onchain(60),
        synthetic.sentiment(synthetic.START, synthetic.START + pd.Timedelta(hours=n)),
    )
    assert live_groups(md) == ("price", "onchain", "sentiment")
    assert live_groups(MarketData.of("BTC", "1h", synthetic.candles(n))) == ("price",)


def test_too_little_history_for_a_live_model_is_one_clear_error() -> None:
    md = MarketData.of("BTC", "1h", synthetic.candles(300))
    with pytest.raises(FusionDataError, match="cannot fit a live model for BTC 1h"):
        fit_live_model(md, SETTINGS)
