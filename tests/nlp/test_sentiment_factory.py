"""Which model a start gets: a local directory, the project's trained model, the hub, or the
offline fallback that trains one (once) when the hub is unreachable."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import huggingface_hub.constants as hub_constants
import pytest

from core.settings import Settings, load_settings
from nlp.sentiment.factory import probe_hub
from nlp.sentiment.hf import LocalSentimentModel, ModelLoadError
from nlp.sentiment.lifecycle import build_sentiment_model
from nlp.sentiment.registry import POINTER, ModelRegistry
from nlp.sentiment.train import TrainResult
from tests.loopback import LoopbackServer, Reply
from tests.sentiment_fixtures import QUICK


def _settings(settings: Settings, **sentiment: object) -> Settings:
    # these tests are about which model is chosen; the ONNX runtime has its own tests
    return load_settings(
        data_dir=settings.data_dir, sentiment={"threads": 1, "runtime": "torch", **sentiment}
    )


@pytest.mark.slow
def test_factory_trains_offline_when_the_hub_is_offline_and_reuses_the_model_next_time(
    settings: Settings,
    seed_subset_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = _settings(settings, train_data=str(seed_subset_csv))
    registry = ModelRegistry(cfg.paths.sentiment_models)
    with caplog.at_level(logging.WARNING, logger="nlp.sentiment"):
        first = build_sentiment_model(cfg.sentiment, cfg.paths, train_config=QUICK, progress=False)
    said = caplog.text
    assert "hub is unreachable" in said and "HF_HUB_OFFLINE is set" in said
    # a one-shot command has no background to upgrade in: it trains the target plan at once
    assert "training the offline sentiment model now (full model from seed_subset.csv" in said
    assert isinstance(first, LocalSentimentModel)
    assert registry.current() == first.path
    assert (registry.root / POINTER).read_text().strip() == first.version

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="nlp.sentiment"):
        started = time.perf_counter()
        second = build_sentiment_model(cfg.sentiment, cfg.paths, train_config=QUICK, progress=False)
        took = time.perf_counter() - started
    assert second.version == first.version
    assert "training" not in caplog.text and "trained model" in caplog.text
    assert took < 5, "the second call must load, not train"
    saved = [p for p in registry.root.iterdir() if (p / "config.json").is_file()]
    assert saved == [first.path]


@pytest.mark.slow
def test_a_local_directory_setting_is_loaded_without_asking_the_hub(
    settings: Settings, trained_sentiment: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    cfg = _settings(settings, model=str(trained_sentiment.path))
    model = build_sentiment_model(cfg.sentiment, cfg.paths, hub_endpoint="http://127.0.0.1:9")
    assert model.version == trained_sentiment.version
    assert not cfg.paths.sentiment_models.exists(), "nothing is trained for a given directory"


def test_a_missing_local_directory_setting_is_a_clear_error(settings: Settings) -> None:
    cfg = _settings(settings, model="./models/does-not-exist")
    with pytest.raises(ModelLoadError, match="CRYPTOSENSE_SENTIMENT__MODEL"):
        build_sentiment_model(cfg.sentiment, cfg.paths)


def test_a_pointer_to_a_vanished_model_is_ignored_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ModelRegistry(settings.paths.sentiment_models)
    registry.root.mkdir(parents=True)
    (registry.root / POINTER).write_text("minilm-gone-0123456789ab\n")
    with caplog.at_level(logging.WARNING):
        assert registry.current() is None
    assert "not a saved model" in caplog.text


# huggingface_hub reads HF_HUB_OFFLINE once, when first imported (here, at collection).
needs_hub_client = pytest.mark.skipif(
    bool(hub_constants.HF_HUB_OFFLINE), reason="HF_HUB_OFFLINE was set when the suite started"
)


@needs_hub_client
def test_hub_probe_reports_an_erroring_or_silent_hub_quickly(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    loopback.route("/api/models/ProsusAI/finbert", Reply(503, "upstream down"))
    with pytest.raises(ModelLoadError, match="503"):
        probe_hub("ProsusAI/finbert", 2.0, endpoint=loopback.base_url)
    loopback.route("/api/models/ProsusAI/finbert", Reply(200, "{}", delay_s=5))
    started = time.perf_counter()
    with pytest.raises(ModelLoadError, match="Timeout"):
        probe_hub("ProsusAI/finbert", 0.5, endpoint=loopback.base_url)
    assert time.perf_counter() - started < 3


@needs_hub_client
def test_hub_probe_returns_the_commit_the_hub_serves(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    sha = "4556d13015211d73dccd3fdd39d39232506f3e43"
    loopback.route(
        "/api/models/ProsusAI/finbert",
        Reply(
            200,
            f'{{"id": "ProsusAI/finbert", "sha": "{sha}", "private": false}}',
            headers={"Content-Type": "application/json"},
        ),
    )
    assert probe_hub("ProsusAI/finbert", 2.0, endpoint=loopback.base_url) == sha
