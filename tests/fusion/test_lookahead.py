"""The look-ahead guard passes on the project's features, names a planted leak, and checks
warm-up declarations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fusion.data import FrameProvider, MarketData
from fusion.features import CustomFeature, build_features
from fusion.lookahead import PLANTED_LEAK, SIGNAL, check_lookahead, check_warmup
from fusion.target import direction, forward_return
from fusion.walkforward import fit_window
from tests.fusion.conftest import fast_settings


def test_project_features_pass_the_lookahead_check(hourly_provider: FrameProvider) -> None:
    report = check_lookahead(hourly_provider, "BTC", "1h", cuts=12, seed=1)
    assert report.ok, report.offences
    assert len(report.cuts) == 12
    assert report.features_checked > 30
    assert "passed" in report.summary()


def test_planted_next_bar_return_is_caught_and_named(hourly_provider: FrameProvider) -> None:
    report = check_lookahead(hourly_provider, "BTC", "1h", cuts=6, extra=[PLANTED_LEAK])
    assert not report.ok
    assert report.offending == ["leak_next_return"]
    assert "leak_next_return" in report.summary()
    offence = report.offences[0]
    assert offence.truncated is None and offence.full is not None  # unknown then, known later


def test_a_centred_rolling_mean_leaks_too(hourly_provider: FrameProvider) -> None:
    centred = CustomFeature(
        "centred_mean", fn=lambda c: c["close"].rolling(5, center=True).mean() / c["close"]
    )
    report = check_lookahead(hourly_provider, "BTC", "1h", cuts=4, extra=[centred])
    assert report.offending == ["centred_mean"]


def test_model_signals_are_checked_with_the_features(hourly_provider: FrameProvider) -> None:
    md = hourly_provider.market_data("BTC", "1h")
    frame = build_features(md)
    settings = fast_settings()
    up = direction(forward_return(md.candles.set_axis(frame.values.index), 1), 0.0)
    cols = frame.columns(["price", "onchain", "sentiment"])
    rows = np.flatnonzero(frame.usable(["price"]).to_numpy() & up.notna().to_numpy())[:600]
    model = fit_window(frame, up, cols, rows, settings, 1)
    assert not isinstance(model, str)
    report = check_lookahead(
        hourly_provider, "BTC", "1h", cuts=4, predict=lambda x: model.predict_proba(x)
    )
    assert report.ok and report.features_checked == len(frame.specs) + 1

    leaky = check_lookahead(
        hourly_provider,
        "BTC",
        "1h",
        cuts=4,
        predict=lambda x: model.predict_proba(x.bfill()),  # fills gaps from the future
    )
    assert SIGNAL in leaky.offending


def test_declared_warmups_hold_and_long_ones_are_listed(hourly: MarketData) -> None:
    report = check_warmup(hourly)
    assert report.ok, {n: (report.declared[n], report.needed[n]) for n in report.violations}
    assert report.long["adx_14"] == 220
    assert report.long["oc_TxCnt_z30"] == 29 * 24
    assert "ret_1" not in report.long
    assert report.needed["ret_24"] == 24


def test_a_feature_declaring_too_short_a_warmup_is_named(hourly: MarketData) -> None:
    ema = CustomFeature(
        "ema_gap", fn=lambda c: c["close"].ewm(span=50).mean() / c["close"] - 1.0, warmup=5
    )
    report = check_warmup(hourly, extra=[ema])
    assert report.violations == ("ema_gap",)
    needed = report.needed["ema_gap"]
    assert needed is not None and needed > 100


def test_warmup_check_can_start_where_asked(hourly: MarketData) -> None:
    start = hourly.candles.index[0] + pd.Timedelta(days=20)
    report = check_warmup(hourly, starts=[start])
    assert report.starts == ("2021-01-21T00:00:00Z",)
    assert report.ok
