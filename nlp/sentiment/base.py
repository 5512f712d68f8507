"""The sentiment model interface every implementation satisfies, and the helpers around it.

A model is anything with a stable ``version`` and ``predict_proba``: the hub loader, the
local-directory loader, and later runtimes (ONNX int8) all plug in here, so scoring, evaluation
and the index never care which one they were given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np

from core.records import LABELS, Label, SentimentScore
from core.times import utcnow

#: Column order of every probability matrix in the project.
LABEL_NAMES: tuple[str, ...] = tuple(label.value for label in LABELS)

#: How common id2label names map onto the project's labels. ``LABEL_0``-style names are
#: ambiguous (each model orders them differently), so they need an explicit map.
DEFAULT_LABEL_ALIASES: Mapping[str, Label] = {
    "negative": Label.NEGATIVE,
    "neg": Label.NEGATIVE,
    "bearish": Label.NEGATIVE,
    "neutral": Label.NEUTRAL,
    "neu": Label.NEUTRAL,
    "positive": Label.POSITIVE,
    "pos": Label.POSITIVE,
    "bullish": Label.POSITIVE,
}


class LabelMappingError(ValueError):
    """A model's or a file's labels cannot be mapped onto negative / neutral / positive."""


@runtime_checkable
class SentimentModel(Protocol):
    """A three-class financial sentiment classifier.

    ``version`` identifies weights and configuration, so scores from different models never
    mix in the store and a cache entry is only reused for the model that produced it.
    """

    @property
    def version(self) -> str: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of (p_negative, p_neutral, p_positive), one per text, each summing to 1."""
        ...


def canonical_label(name: str, label_map: Mapping[str, str] | None = None) -> Label:
    """Map one label name (a model's id2label entry or a file's label) to a project label.

    An explicit ``label_map`` wins; otherwise the common aliases above are tried, case-blind.
    """
    key = str(name).strip()
    if label_map:
        for candidate in (key, key.lower()):
            if candidate in label_map:
                return parse_label(label_map[candidate])
    alias = DEFAULT_LABEL_ALIASES.get(key.lower())
    if alias is None:
        raise LabelMappingError(
            f"label {key!r} is not one of negative/neutral/positive (or bearish/bullish); "
            'give a label map such as {"LABEL_0": "negative", "LABEL_1": "neutral", '
            '"LABEL_2": "positive"}'
        )
    return alias


def parse_label(value: str) -> Label:
    """A label map's target must be one of the project's three labels (aliases allowed)."""
    alias = DEFAULT_LABEL_ALIASES.get(str(value).strip().lower())
    if alias is None:
        raise LabelMappingError(f"label map target {value!r} must be negative, neutral or positive")
    return alias


def column_order(id2label: Mapping[int, str], label_map: Mapping[str, str] | None) -> list[int]:
    """For each project label (negative, neutral, positive), the model's output index.

    Fails unless the model has exactly one output for each of the three labels: a model with
    two classes or two outputs meaning "positive" would silently distort every score.
    """
    found: dict[Label, int] = {}
    for idx, name in sorted(id2label.items()):
        label = canonical_label(name, label_map)
        if label in found:
            raise LabelMappingError(
                f"model outputs {found[label]} and {idx} both map to {label.value}"
            )
        found[label] = int(idx)
    missing = [label.value for label in LABELS if label not in found]
    if missing:
        raise LabelMappingError(f"model has no output for {', '.join(missing)}")
    return [found[label] for label in LABELS]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return out


def predicted_labels(probs: np.ndarray) -> list[Label]:
    """The most likely label of each row."""
    return [LABELS[int(i)] for i in np.asarray(probs).argmax(axis=1)]


def to_scores(
    document_ids: Sequence[str],
    probs: np.ndarray,
    model_version: str,
    *,
    scored_at: datetime | None = None,
) -> list[SentimentScore]:
    """Turn probability rows into stored records, one per document."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(document_ids), len(LABELS)):
        raise ValueError(
            f"expected {len(document_ids)} x {len(LABELS)} probabilities, got {probs.shape}"
        )
    at = scored_at or utcnow()
    labels = predicted_labels(probs)
    return [
        SentimentScore(
            document_id=doc_id,
            model_version=model_version,
            label=label,
            p_negative=float(row[0]),
            p_neutral=float(row[1]),
            p_positive=float(row[2]),
            scored_at=at,
        )
        for doc_id, row, label in zip(document_ids, probs, labels, strict=True)
    ]
