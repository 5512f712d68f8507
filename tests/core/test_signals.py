"""Live fusion signals, the forward ledger, study runs and the model registry
(``store.signals``, ``store.studies``), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from core.records import RegisteredModel, Signal, SignalOutcome, StudyRun
from core.store import Store
from tests.factories import T0

HOUR = timedelta(hours=1)


def signal(hour: int, *, action: str = "long", tf: str = "1h", **kw: object) -> Signal:
    fields: dict[str, object] = {
        "asset": "BTC",
        "ts": T0 + hour * HOUR,
        "horizon": "1d",
        "prob_up": 0.6,
        "action": action,
        "model_version": "abc123",
        "features_asof": T0 + hour * HOUR,
        "timeframe": tf,
        "position": 0.2,
        "reasons": (),
        "contributions": {"ret_1": 0.05, "bias": -0.01},
        "data_age_bars": 0.25,
        "asof": T0 + hour * HOUR + timedelta(minutes=15),
    }
    fields.update(kw)
    return Signal.model_validate(fields)


def outcome(hour: int, *, net: float = 0.01) -> SignalOutcome:
    return SignalOutcome(
        asset="BTC",
        timeframe="1h",
        horizon="1d",
        ts=T0 + hour * HOUR,
        position=0.2,
        fill_price=100.0,
        exit_price=105.0,
        realised_return=0.05,
        net_return=net,
        hit=1.0,
        resolved_at=T0 + (hour + 25) * HOUR,
    )


def test_the_first_signal_of_a_bar_stands(store: Store) -> None:
    assert store.signals.add([signal(0)]) == 1
    assert store.signals.add([signal(0, action="short", position=-0.3)]) == 0
    got = store.signals.get("BTC", "1h", "1d", T0)
    assert got == signal(0)
    assert store.signals.count() == 1


def test_a_no_model_signal_keeps_its_reasons_and_stores_no_nan(store: Store) -> None:
    bare = signal(
        1,
        action="no model",
        prob_up=None,
        model_version=None,
        position=0.0,
        reasons=("out-of-sample Sharpe 0.1 < 0.5", "hit rate 0.49 < 0.5"),
        contributions={"ret_1": math.nan, "vol_24": 0.5},
        data_age_bars=math.inf,
    )
    store.signals.add([bare])
    got = store.signals.get("BTC", "1h", "1d", T0 + HOUR)
    assert got is not None
    assert (got.prob_up, got.model_version, got.reasons) == (None, None, bare.reasons)
    assert got.contributions == {"vol_24": 0.5} and got.data_age_bars is None


def test_history_latest_and_unresolved(store: Store) -> None:
    store.signals.add([signal(h) for h in range(4)] + [signal(0, tf="1d"), signal(9, asset="ETH")])
    assert [s.ts for s in store.signals.history("BTC", "1h", start=T0 + HOUR)] == [
        T0 + h * HOUR for h in (1, 2, 3)
    ]
    latest = store.signals.latest()
    assert [(s.asset, s.timeframe, s.ts) for s in latest] == [
        ("BTC", "1d", T0),
        ("BTC", "1h", T0 + 3 * HOUR),
        ("ETH", "1h", T0 + 9 * HOUR),
    ]
    assert [s.asset for s in store.signals.latest("ETH")] == ["ETH"]
    store.signals.add_outcomes([outcome(0), outcome(2)])
    assert [s.ts for s in store.signals.unresolved("BTC", "1h")] == [T0 + HOUR, T0 + 3 * HOUR]


def test_an_outcome_is_written_once_and_needs_its_signal(store: Store) -> None:
    store.signals.add([signal(0)])
    assert store.signals.add_outcomes([outcome(0)]) == 1
    assert store.signals.add_outcomes([outcome(0, net=-0.5)]) == 0
    assert store.signals.outcomes("BTC", "1h") == [outcome(0)]
    with pytest.raises(IntegrityError):
        store.signals.add_outcomes([outcome(7)])  # no such signal
    assert store.signals.count_outcomes() == 1


def run(card: str = '{"a": 1}\n', asset: str = "BTC", tf: str = "1h") -> StudyRun:
    return StudyRun(
        asset=asset,
        timeframe=tf,
        created_at=T0,
        config={"settings": {"horizon": "1d"}, "study": {}, "source": {"pair": "BTC/USD"}},
        data={"candles": {"rows": 3}},
        content_sha256="d" * 64,
        code={"package": "0.1"},
        seed=7,
        data_first=T0,
        data_last=T0 + HOUR,
        chosen="price_onchain",
        gate_passed=False,
        verdict="no model: out-of-sample Sharpe 0.1 < 0.5",
        card_sha256=card[:3] * 20 + "abcd",
        card_json=card,
        json_path="/x.json",
        html_path="/x.html",
    )


def test_runs_are_recorded_with_their_card_and_found_again(store: Store) -> None:
    first = store.studies.add_run(run())
    second = store.studies.add_run(run())
    other = store.studies.add_run(run('{"b": 2}\n', tf="1d"))
    assert (first.id, second.id, other.id) == (1, 2, 3)
    assert store.studies.run(1) == first and first.card_json == '{"a": 1}\n'
    assert first.config["source"] == {"pair": "BTC/USD"}
    assert [r.id for r in store.studies.runs("BTC", "1h")] == [2, 1]
    assert [r.id for r in store.studies.latest_runs()] == [3, 2]
    assert store.studies.same_card(second.card_sha256, before=2) == first
    assert store.studies.same_card(first.card_sha256, before=1) is None
    assert store.studies.run(99) is None and store.studies.count_runs() == 3


def test_the_newest_registry_entry_decides(store: Store) -> None:
    r = store.studies.add_run(run())
    entry = RegisteredModel(
        asset="BTC",
        timeframe="1d",
        horizon="1d",
        version="v1",
        created_at=T0,
        promoted=True,
        run_id=r.id,
        groups=("price", "onchain"),
        train_first=T0,
        train_last=T0 + HOUR,
        sentiment_version="s1",
        model_json="{}",
    )
    assert store.studies.current("BTC", "1d") is None
    store.studies.register(entry)
    failed = entry.model_copy(update={"version": "v2", "promoted": False, "reasons": ("x",)})
    store.studies.register(failed)
    current = store.studies.current("BTC", "1d")
    assert current is not None and (current.version, current.promoted) == ("v2", False)
    assert current.reasons == ("x",) and current.groups == ("price", "onchain")
    assert [m.version for m in store.studies.models("BTC")] == ["v2", "v1"]
