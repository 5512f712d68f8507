"""``GET /v1/prices/{asset}`` and ``GET /v1/signals[/{asset}]`` over a seeded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from core.records import StudyRun
from core.settings import Settings
from core.store import Store
from tests.api.keys import bearer
from tests.api.live import NOW, seed


@pytest.fixture
def client(settings: Settings, sqlite_store: Store) -> Iterator[TestClient]:
    seed(sqlite_store)
    svc = Services(
        store=sqlite_store, model_version=sqlite_store.scores.latest_version, clock=lambda: NOW
    )
    with TestClient(create_app(settings, services=svc), headers=bearer(sqlite_store)) as c:
        yield c


def test_prices_are_the_newest_bars_of_the_configured_pair(client: TestClient) -> None:
    body = client.get("/v1/prices/btc", params={"limit": 5}).json()
    assert (body["asset"], body["exchange"], body["pair"], body["timeframe"]) == (
        "BTC",
        "bitstamp",
        "BTC/USD",
        "1h",
    )
    assert [b["close"] for b in body["bars"]] == [62255.0, 62265.0, 62275.0, 62285.0, 62295.0]
    assert client.get("/v1/prices/BTC", params={"timeframe": "1d"}).json()["bars"] == []


def test_prices_of_an_asset_without_a_pair_or_a_bad_timeframe_are_problems(
    client: TestClient,
) -> None:
    resp = client.get("/v1/prices/DOGE")
    assert resp.status_code == 404
    assert "no price pair configured for 'DOGE'" in resp.json()["detail"]
    assert client.get("/v1/prices/BTC", params={"timeframe": "hourly"}).status_code == 422


def test_signals_carry_their_ledger_record(client: TestClient) -> None:
    (sig,) = client.get("/v1/signals").json()["signals"]
    assert (sig["asset"], sig["timeframe"], sig["action"]) == ("BTC", "1d", "long")
    assert sig["prob_up"] == pytest.approx(0.59)
    rel = sig["reliability"]
    assert rel["resolved"] == 2
    assert rel["hit_rate"] == pytest.approx(0.5)
    assert rel["mean_net_return"] == pytest.approx(0.001)
    history = client.get("/v1/signals/btc").json()
    assert [s["prob_up"] for s in history["history"]] == pytest.approx([0.55, 0.57, 0.59])
    assert history["current"][0]["ts"] == history["history"][-1]["ts"]
    eth = client.get("/v1/signals/ETH").json()
    assert (eth["current"], eth["history"], eth["report_card"]) == ([], [], None)
    assert eth["ledger"]["summary"]["signals"] == 0 and eth["ledger"]["entries"] == []
    assert client.get("/v1/signals/NOPE").status_code == 404


def test_signal_history_carries_the_forward_ledger_and_the_report_card(
    client: TestClient, sqlite_store: Store
) -> None:
    body = client.get("/v1/signals/BTC").json()
    ledger = body["ledger"]
    assert (ledger["summary"]["signals"], ledger["summary"]["resolved"]) == (3, 2)
    assert ledger["summary"]["hit_rate"] == pytest.approx(0.5)
    entries = ledger["entries"]
    assert [e["ts"] for e in entries] == sorted((e["ts"] for e in entries), reverse=True)
    assert len(entries) == 2 and {e["horizon"] for e in entries} == {"1d"}
    assert body["report_card"] is None
    run = sqlite_store.studies.add_run(
        StudyRun(
            asset="BTC",
            timeframe="1d",
            created_at=NOW,
            config={},
            data={},
            content_sha256="0" * 64,
            code={},
            seed=7,
            chosen="price+sentiment",
            gate_passed=True,
            verdict="promoted: beats the price-only baseline",
            card_sha256="1" * 64,
            card_json='{"folds": 5, "sharpe": 0.8}',
        )
    )
    card = client.get("/v1/signals/BTC").json()["report_card"]
    assert (card["run_id"], card["chosen"], card["gate_passed"]) == (
        run.id,
        "price+sentiment",
        True,
    )
    assert card["card"] == {"folds": 5, "sharpe": 0.8}
