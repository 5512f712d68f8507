"""The ``distil`` recipe: K teachers that differ only in their seed, one student.

The teachers share the student's held-out rows; their temperature-softened probabilities on
the training rows are averaged, and ONE student of the same size learns from a mix of the
hard labels and those soft labels (cross-entropy + KL, see :func:`nlp.sentiment.loop.
distil_loss`). An ensemble is better than any of its members but K times slower at inference;
distillation keeps the service's model one MiniLM, which is what the inference speed target
is measured on. Teachers are saved beside the student and reused when their model card
matches, so an interrupted or repeated run does not pay for them twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment.card import Distillation, Evaluation, ModelCard, TeacherCard, find_card
from nlp.sentiment.config import TrainConfig, TrainError
from nlp.sentiment.data import LabelledData
from nlp.sentiment.evaluate import classification_metrics
from nlp.sentiment.hf import LocalSentimentModel, ModelLoadError, directory_version
from nlp.sentiment.loop import resolve_encoder, resolve_pooling

log = logging.getLogger(__name__)

#: What must match for a saved teacher to be reused instead of trained again.
TEACHER_KEYS: tuple[str, ...] = (
    "encoder",
    "epochs",
    "lr",
    "batch_size",
    "max_length",
    "seed",
    "split_seed",
    "val_frac",
    "patience",
    "warmup_ratio",
    "weight_decay",
    "group_by_length",
    "pooling",
    "layer_decay",
)

#: Trains one teacher into a folder (the trainer's ``train_model``, passed in).
TrainOne = Callable[[LabelledData, TrainConfig, Path], Any]


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / T)`` computed from ``softmax(logits)``: ``p^(1/T)`` renormalised.

    Saved models hand out probabilities, not logits; the two are the same up to a per-row
    constant, which the renormalisation removes.
    """
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def teacher_configs(config: TrainConfig, name: str) -> list[TrainConfig]:
    """Teacher ``i`` (1..K): the student's recipe with seed ``seed + i`` on the same split."""
    return [
        replace(
            config,
            recipe="plain",
            seed=config.seed + i,
            split_seed=config.held_out_seed,
            name=f"{name}-teacher-{i}",
            teachers_dir=None,
        )
        for i in range(1, config.teachers + 1)
    ]


def _same_sources(card: ModelCard, data: LabelledData) -> bool:
    recorded = [(s.sha256, dict(s.label_map), s.weight) for s in card.sources]
    return recorded == [(s.sha256, dict(s.label_map), s.weight) for s in data.sources]


def reusable_teacher(path: Path, config: TrainConfig, data: LabelledData) -> ModelCard | None:
    """The model card of a teacher saved earlier with this data and recipe, else None.

    The weights must still hash to the card's version, so a folder someone edited or a copy
    that broke half-way is trained again rather than trusted.
    """
    card = find_card(path)
    if card is None:
        return None
    if config.pooling == "auto":  # the card holds what "auto" became for its encoder
        try:
            config = replace(
                config, pooling=resolve_pooling(resolve_encoder(config.encoder), "auto")
            )
        except TrainError:
            return None
    same = _same_sources(card, data) and all(
        getattr(card.config, key) == getattr(config, key) for key in TEACHER_KEYS
    )
    try:
        return card if same and directory_version(path) == card.version else None
    except ModelLoadError:
        return None


def teacher_soft_labels(
    data: LabelledData,
    config: TrainConfig,
    name: str,
    out_dir: Path,
    train: LabelledData,
    val: LabelledData,
    *,
    train_one: TrainOne,
    progress: bool,
) -> tuple[np.ndarray, Distillation]:
    """Train (or reuse) the teachers; their averaged softened probabilities on ``train``."""
    root = (
        Path(config.teachers_dir).expanduser().resolve()
        if config.teachers_dir
        else out_dir.parent / f"{out_dir.name}-teachers"
    )
    teachers: list[TeacherCard] = []
    train_probs: list[np.ndarray] = []
    val_probs: list[np.ndarray] = []
    labelling = 0.0
    for i, tconfig in enumerate(teacher_configs(config, name), start=1):
        path = root / f"teacher-{i}"
        card = reusable_teacher(path, tconfig, data)
        reused = card is not None
        if card is None:
            log.info("training teacher %d of %d (seed %d)", i, config.teachers, tconfig.seed)
            card = train_one(data, tconfig, path).card
        else:
            log.info("reusing teacher %d (%s) from %s", i, card.version, path)
        started = time.perf_counter()
        model = LocalSentimentModel.load(
            path, max_length=config.max_length, batch_size=64, threads=config.threads
        )
        train_probs.append(model.predict_proba(list(train.texts)))
        val_probs.append(model.predict_proba(list(val.texts)))
        labelling += time.perf_counter() - started
        teachers.append(
            TeacherCard(
                name=card.name,
                version=str(card.version),
                path=str(path),
                seed=tconfig.seed,
                best_epoch=card.best_epoch or 0,
                validation=Evaluation.model_validate(
                    classification_metrics(val.labels, val_probs[-1].argmax(axis=1))
                ),
                epochs=card.epochs,
                train_seconds=card.train_seconds or 0.0,
                threads=card.threads,
                reused=reused,
            )
        )
    soft = np.mean([soften(p, config.temperature) for p in train_probs], axis=0)
    ensemble = classification_metrics(val.labels, np.mean(val_probs, axis=0).argmax(axis=1))
    log.info("teacher ensemble: held-out weighted F1 %.4f", ensemble["weighted_f1"])
    return soft, Distillation(
        teachers=tuple(teachers),
        ensemble=Evaluation.model_validate(ensemble),
        alpha=config.distil_alpha,
        temperature=config.temperature,
        seconds={
            "teachers": round(sum(t.train_seconds for t in teachers), 1),
            "soft_labels": round(labelling, 1),
        },
    )
