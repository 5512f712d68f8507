"""The service's fusion job on a constructed store: a signal per covered asset, produced and
stored on schedule, "no model" with the reason where none is promoted, and the forward
ledger joining a signal with what happened once its horizon has passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from core.records import Candle, RegisteredModel, Signal
from core.settings import Settings, load_settings
from core.store import Store
from core.times import utcnow
from cryptosense.service import Pipeline, PipelineStatus
from fusion.gates import HOLD, NO_MODEL
from fusion.live import FusionJob, day_return, ledger_summary, make_signal
from fusion.signal import fit_live_model, live_groups, live_window
from fusion.store_provider import StoreProvider
from tests.fusion import store_data, synthetic
from tests.fusion.conftest import fast_settings, predictable_candles

N = 24 * 50
LAST_CLOSE = synthetic.START + pd.Timedelta(hours=N)
NOW = (LAST_CLOSE + pd.Timedelta(minutes=10)).to_pydatetime()


@pytest.fixture
def job_settings(tmp_path: Path) -> Settings:
    fusion = fast_settings(vol_target=None, live_timeframe="1h", signal_interval_s=3600)
    return load_settings(data_dir=tmp_path / "var", fusion=fusion)


@pytest.fixture
def market(sqlite_store: Store) -> Store:
    store_data.write_candles(sqlite_store, "BTC", "1h", predictable_candles(N, seed=31))
    return sqlite_store


def register(store: Store, settings: Settings, **changes: object) -> RegisteredModel:
    """Fit the live model on what the store knows at NOW and register it (promoted)."""
    md = StoreProvider.from_settings(store, settings.prices, settings.fusion).market_data(
        "BTC", "1h", asof=NOW
    )
    groups = tuple(live_groups(md))
    model = fit_live_model(md, settings.fusion, groups)
    window = live_window(md, settings.fusion, groups)
    assert window is not None
    entry = RegisteredModel(
        asset="BTC",
        timeframe="1h",
        horizon=settings.fusion.horizon,
        version=model.version,
        created_at=NOW,
        promoted=True,
        groups=groups,
        train_first=window[0].to_pydatetime(),
        train_last=window[1].to_pydatetime(),
        model_json=model.to_json(),
    ).model_copy(update=changes)
    return store.studies.register(entry)


def sections(settings: Settings) -> dict[str, Any]:
    return {"prices": settings.prices, "fusion": settings.fusion}


def next_candle(store: Store, open_: float, close: float) -> None:
    """The bar that opens at the last close: the one a signal made then fills in."""
    store.market.add_candles(
        [
            Candle(
                exchange="bitstamp",
                pair="BTC/USD",
                timeframe="1h",
                ts=LAST_CLOSE.to_pydatetime(),
                open=open_,
                high=max(open_, close) * 1.001,
                low=min(open_, close) * 0.999,
                close=close,
                volume_base=20.0,
                ingested_at=(LAST_CLOSE + pd.Timedelta(hours=1)).to_pydatetime(),
            )
        ]
    )


def test_a_promoted_model_signals_on_schedule_and_the_signal_is_stored(
    market: Store, job_settings: Settings
) -> None:
    entry = register(market, job_settings)
    job = FusionJob(market, job_settings.prices, job_settings.fusion)
    report = job.step(NOW)
    assert report is not None and report.stored == 1 and report.errors == []
    [sig] = market.signals.history("BTC", "1h")
    assert sig.ts == LAST_CLOSE and sig.asof == NOW
    assert sig.model_version == entry.version and sig.prob_up is not None
    assert sig.action in ("long", "short", "flat") and sig.reasons == ()
    assert set(sig.contributions) <= {*entry_columns(entry), "bias"} and sig.contributions
    assert sig.data_age_bars == pytest.approx(10 / 60)
    assert job.step(NOW + timedelta(minutes=5)) is None  # not due before the interval


def entry_columns(entry: RegisteredModel) -> list[str]:
    from fusion.model import FusionModel

    return FusionModel.from_json(entry.model_json).columns


def test_the_ledger_joins_a_signal_with_its_outcome_once_the_horizon_has_passed(
    market: Store, job_settings: Settings
) -> None:
    register(market, job_settings)
    job = FusionJob(market, job_settings.prices, job_settings.fusion)
    first = job.step(NOW)
    assert first is not None and first.resolved == 0
    [sig] = market.signals.history("BTC", "1h")
    assert market.signals.outcomes("BTC", "1h") == []  # the horizon has not passed

    next_candle(market, open_=100.0, close=103.0)  # +3% over the signal's horizon (1h)
    later = NOW + timedelta(hours=1)
    second = job.step(later)
    assert second is not None and second.resolved == 1
    [outcome] = market.signals.outcomes("BTC", "1h")
    assert outcome.ts == sig.ts and outcome.resolved_at == later
    assert (outcome.fill_price, outcome.exit_price) == (100.0, 103.0)
    assert outcome.realised_return == pytest.approx(0.03)
    cost = 2 * abs(sig.position) * job_settings.fusion.cost_rate
    assert outcome.net_return == pytest.approx(sig.position * 0.03 - cost)
    assert outcome.hit == (1.0 if sig.position > 0 else 0.0 if sig.position < 0 else None)
    summary = ledger_summary(market, "BTC", "1h", later)
    assert (summary.signals, summary.resolved, summary.pending) == (2, 1, 1)


def test_without_a_model_the_stored_signal_is_no_model_saying_how_to_train(
    market: Store, job_settings: Settings
) -> None:
    report = FusionJob(market, job_settings.prices, job_settings.fusion).step(NOW)
    assert report is not None and report.stored == 1
    [sig] = market.signals.history("BTC", "1h")
    assert (sig.action, sig.prob_up, sig.position) == (NO_MODEL, None, 0.0)
    assert sig.reasons == (
        "no trained model: run `cryptosense fusion train --asset BTC --timeframe 1h`",
    )


def test_an_unpromoted_model_gives_no_model_with_the_gates_reasons(
    market: Store, job_settings: Settings
) -> None:
    reasons = ("out-of-sample Sharpe 0.12 < 0.5", "probability of backtest overfitting 0.6 > 0.5")
    entry = register(market, job_settings, promoted=False, reasons=reasons)
    sig = make_signal(market, "BTC", "1h", NOW, **sections(job_settings))
    assert (sig.action, sig.prob_up, sig.reasons) == (NO_MODEL, None, reasons)
    assert sig.model_version == entry.version


def test_a_new_sentiment_model_since_training_holds_a_sentiment_models_signal(
    market: Store, job_settings: Settings
) -> None:
    register(market, job_settings, groups=("price", "onchain", "sentiment"), sentiment_version="a")
    store_data.mark_scored(market, "b")
    sig = make_signal(market, "BTC", "1h", NOW, **sections(job_settings))
    assert sig.action == HOLD and sig.position == 0.0
    assert sig.reasons[-1].startswith("sentiment model changed since training (a -> b)")


def test_an_asset_without_candles_of_the_live_timeframe_gets_no_signal(
    market: Store, job_settings: Settings
) -> None:
    store_data.write_candles(market, "ETH", "1d", synthetic.candles(30, "1d"))
    report = FusionJob(market, job_settings.prices, job_settings.fusion).step(NOW)
    assert report is not None and [s.asset for s in report.signals] == ["BTC"]


def test_day_return_is_the_live_positions_over_the_last_24_hours(
    market: Store, job_settings: Settings
) -> None:
    md = StoreProvider.from_settings(market, job_settings.prices, job_settings.fusion).market_data(
        "BTC", "1h", asof=NOW
    )
    start = LAST_CLOSE - pd.Timedelta(hours=30)
    sig = Signal(
        asset="BTC",
        ts=start.to_pydatetime(),
        horizon="1h",
        action="long",
        features_asof=start.to_pydatetime(),
        position=0.5,
    )
    c = md.candles
    last_day = c.loc[c.index + md.bar > LAST_CLOSE - pd.Timedelta(days=1)]
    want = float(np.prod(1 + 0.5 * (last_day["close"] / last_day["open"] - 1)) - 1)
    assert day_return([sig], md, NOW) == pytest.approx(want)
    assert day_return([], md, NOW) is None


def test_the_services_pipeline_gives_the_job_its_turn(
    market: Store, job_settings: Settings
) -> None:
    register(market, job_settings)
    pipeline = Pipeline(job_settings, market, [], PipelineStatus())
    # The service runs at the wall clock: candles that stopped in 2021 are stale, so the
    # risk gate holds the signal, with its reason, and it is stored all the same.
    assert pipeline._signal() == 1
    [sig] = market.signals.history("BTC", "1h")
    assert sig.action == HOLD and sig.reasons[0].startswith("stale data")
    assert isinstance(sig.asof, datetime) and sig.asof <= utcnow()
    assert pipeline._signal() == 0  # not due again yet


def test_fusion_problems_reach_the_pipeline_status_and_the_step_goes_on(
    market: Store, job_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = register(market, job_settings)
    with market.session() as s, s.begin():  # a registry entry whose model cannot be read
        s.execute(
            text("UPDATE fusion_models SET model_json = :j WHERE id = :i"),
            {"j": '{"format": 1}', "i": entry.id},
        )
    status = PipelineStatus()
    pipeline = Pipeline(job_settings, market, [], status)
    assert pipeline._signal() == 0
    assert status.errors == [
        f"fusion: BTC: registered model {entry.version} is unreadable: 'booster'"
    ]

    def broken(self: FusionJob, now: datetime) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(FusionJob, "step", broken)  # plumbing: any failure of the job
    assert pipeline._signal() == 0
    assert status.errors[-1] == "fusion: RuntimeError: disk full"
