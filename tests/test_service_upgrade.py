"""When the service starts on the seed-set model but labelled data is at hand, it trains the
full model in the background; otherwise it keeps the model it has."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings
from cryptosense.service import needs_upgrade


@dataclass
class SavedModel:
    path: Path
    version: str = "v"

    def predict_proba(self, texts: object) -> np.ndarray:
        return np.zeros((0, 3))


def _model(tmp_path: Path, trained_on: str) -> SavedModel:
    folder = tmp_path / f"model-{trained_on}"
    folder.mkdir()
    card = {"data": {"file": trained_on}}
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return SavedModel(folder)


def _with_train_data(settings: Settings, path: Path | None) -> Settings:
    return settings.model_copy(
        update={"sentiment": settings.sentiment.model_copy(update={"train_data": path})}
    )


def test_seed_model_with_training_data_at_hand_is_upgraded(
    settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "tfns.csv"
    data.write_text("text,label\nup,1\n", encoding="utf-8")
    assert needs_upgrade(_with_train_data(settings, data), _model(tmp_path, "seed_sentiment.csv"))


def test_no_upgrade_without_data_or_when_already_trained_on_it(
    settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "tfns.csv"
    data.write_text("text,label\nup,1\n", encoding="utf-8")
    seed = _model(tmp_path, "seed_sentiment.csv")
    assert not needs_upgrade(_with_train_data(settings, None), seed)
    assert not needs_upgrade(_with_train_data(settings, tmp_path / "missing.csv"), seed)
    assert not needs_upgrade(_with_train_data(settings, data), _model(tmp_path, "tfns.csv"))
