"""One small real sentiment model, trained once per test session and shared by the slow tests
(tests/conftest.py exposes the fixtures to every test folder).

1 epoch on 240 rows of the project's seed set with max_length 32 takes seconds, and gives a
model that is real (a fine-tuned MiniLM saved by the project's trainer) if not a strong one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from nlp.sentiment.data import SEED_DATA, load_labelled, stratified_split
from nlp.sentiment.train import TrainConfig, TrainResult

#: The quick recipe every slow test trains with: one thread so a busy shared machine does not
#: make torch's worker threads wait on each other.
QUICK = TrainConfig(
    epochs=1, lr=2e-4, batch_size=8, max_length=32, val_frac=0.2, patience=1, threads=1
)


def write_seed_subset(path: Path, rows: int, seed: int = 5) -> Path:
    """A stratified sample of the seed set, written as a CSV the trainer reads like any file."""
    data = load_labelled(SEED_DATA)
    frac = rows / len(data)
    _, keep = stratified_split(data.labels, frac, seed)
    names = ("negative", "neutral", "positive")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in np.sort(keep):
            writer.writerow([data.texts[i], names[int(data.labels[i])]])
    return path


@pytest.fixture(scope="session")
def seed_subset_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed_subset(tmp_path_factory.mktemp("seed") / "seed_subset.csv", 240)


@pytest.fixture(scope="session")
def trained_sentiment(
    tmp_path_factory: pytest.TempPathFactory, seed_subset_csv: Path
) -> TrainResult:
    """A model trained by the project's trainer, saved to a directory (card included)."""
    from nlp.sentiment.train import train_model

    out = tmp_path_factory.mktemp("model") / "minilm-seed"
    return train_model(load_labelled(seed_subset_csv), QUICK, out, progress=False)
