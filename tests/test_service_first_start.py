"""A first start on a fresh data directory with labelled training data configured, as
`cryptosense run` wires it (demo feeds -> real collector -> store -> pipeline -> API): the
service must serve sentiment from the quick seed model at once, train the full model in the
background, and only then switch to it. Before this was fixed the first start trained the
full model first, and for its 12-20 minutes /v1/sentiment/BTC stayed empty.

Tiny recipes stand in for the real ones (one epoch, 32 tokens), so this takes seconds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from core.settings import Settings, load_settings
from core.store import build_store
from cryptosense.service import Pipeline, PipelineStatus, build_sources
from nlp.sentiment.card import read_card
from nlp.sentiment.lifecycle import SentimentLifecycle, UpgradeState
from tests.api.keys import bearer
from tests.sentiment_fixtures import QUICK, write_seed_subset

pytestmark = pytest.mark.slow

TINY_RECIPES = {"seed": QUICK, "full": QUICK}


def test_first_start_with_training_data_serves_the_seed_model_then_switches_to_the_full_one(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    labelled = write_seed_subset(tmp_path / "labelled.csv", 120, seed=3)
    cfg = load_settings(
        data_dir=settings.data_dir,
        demo={"mode": "on"},
        sentiment={"train_data": str(labelled), "runtime": "torch", "threads": 1},
    )
    assert not cfg.paths.sentiment_models.exists()  # a fresh data directory
    lifecycle = SentimentLifecycle(cfg.sentiment, cfg.paths, recipes=TINY_RECIPES, progress=False)
    store = build_store(cfg.db, cfg.paths)
    collectors, server = build_sources(cfg, demo=True)
    status = PipelineStatus(demo=True)
    pipeline = Pipeline(cfg, store, collectors, status, lifecycle=lifecycle)
    services = Services(
        store=store,
        model_version=lambda: status.model_version,
        model_upgrade=status.upgrade_report,
    )
    try:
        with (
            caplog.at_level(logging.WARNING),
            TestClient(create_app(cfg, services=services), headers=bearer(store)) as client,
        ):
            assert client.get("/healthz").json()["model_version"] is None

            first = pipeline.step()  # trains the quick seed model, scores, indexes
            seed_version = status.model_version
            assert seed_version is not None and first["scored"] > 50
            seed_card = read_card(cfg.paths.sentiment_models / seed_version)
            assert seed_card.tier == "seed"
            assert [s.file for s in seed_card.sources] == ["seed_sentiment.csv"]
            body = client.get("/v1/sentiment/BTC").json()
            assert body["model_version"] == seed_version and body["points"], body
            health = client.get("/healthz").json()
            assert health["model_version"] == seed_version
            upgrade = health["model_upgrade"]
            assert upgrade["tier"] == "full" and upgrade["target"] == "full model from labelled.csv"
            assert upgrade["from_version"] == seed_version
            assert upgrade["state"] in ("training", "loading", "ready")
            assert "serving sentiment with" in caplog.text

            job = status.upgrade
            assert job is not None
            deadline = time.monotonic() + 300
            while job.state not in (UpgradeState.READY, UpgradeState.FAILED):
                assert time.monotonic() < deadline, job.report()
                time.sleep(0.2)
            assert job.state == UpgradeState.READY, job.report()
            assert status.model_version == seed_version  # still serving: nothing switched yet

            pipeline.step()  # scores everything with the full model, then switches
            full_version = status.model_version
            assert full_version is not None and full_version != seed_version
            assert full_version.startswith("minilm-labelled-")
            full_card = read_card(cfg.paths.sentiment_models / full_version)
            assert full_card.tier == "full" and full_card.sources[0].file == "labelled.csv"
            body = client.get("/v1/sentiment/BTC").json()
            assert body["model_version"] == full_version and body["points"], body
            assert sum(p["n_docs"] for p in body["points"]) >= 5
            health = client.get("/healthz").json()
            assert health["model_version"] == full_version
            assert health["model_upgrade"]["state"] == "done"
            assert health["model_upgrade"]["to_version"] == full_version
            assert f"now serving sentiment model {full_version}" in caplog.text
    finally:
        if server is not None:
            server.stop()
        store.close()

    # a second start finds the full model and uses it directly: nothing to train or upgrade
    again = SentimentLifecycle(cfg.sentiment, cfg.paths, recipes=TINY_RECIPES)
    started = time.perf_counter()
    served = again.start()
    assert served.version == full_version and served.origin == "current"
    assert time.perf_counter() - started < 30, "the second start must load, not train"
    assert again.upgrade_due(served) is None
