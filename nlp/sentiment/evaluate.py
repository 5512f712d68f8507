"""Metrics for a sentiment model on labelled data: the numbers ``cryptosense nlp eval`` prints.

scikit-learn computes them, so they mean exactly what the published anchors mean (weighted F1
on Twitter Financial News); the confusion matrix always has the three labels in project order.
Beside the three-class figures, :func:`polarity_metrics` judges the continuous score the
index is built on (``p_positive - p_negative``): how well it ranks positive texts above
negative ones (ROC AUC), and how often a clearly polar text is called neutral. A label set
without a neutral class (self-tagged Bullish/Bearish posts) is judged by those alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nlp.sentiment.base import LABEL_NAMES, SentimentModel
from nlp.sentiment.data import LabelledData

NEGATIVE, NEUTRAL, POSITIVE = (LABEL_NAMES.index(n) for n in ("negative", "neutral", "positive"))


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro and weighted F1 and the confusion matrix (rows true, cols predicted)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(range(len(LABEL_NAMES)))
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        "n": len(y_true),
        "labels": list(LABEL_NAMES),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def polarity_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """How the signed score ``p_positive - p_negative`` treats the polar texts.

    ``roc_auc``: chance that a positive text scores above a negative one (None without
    both). ``polar_accuracy``: share of polar texts whose top class is their label (called
    neutral counts as wrong). ``sign_accuracy``: share whose signed score has the label's
    sign. ``called_neutral``: share of polar texts whose top class is neutral.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, dtype=np.int64)
    polar = (y_true == NEGATIVE) | (y_true == POSITIVE)
    if not polar.any():
        return {"polar_n": 0}
    truth = y_true[polar]
    p = probs[polar]
    signed = p[:, POSITIVE] - p[:, NEGATIVE]
    both = (truth == POSITIVE).any() and (truth == NEGATIVE).any()
    return {
        "polar_n": int(polar.sum()),
        "roc_auc": float(roc_auc_score(truth == POSITIVE, signed)) if both else None,
        "polar_accuracy": float((p.argmax(axis=1) == truth).mean()),
        "sign_accuracy": float(((signed > 0) == (truth == POSITIVE)).mean()),
        "called_neutral": float((p.argmax(axis=1) == NEUTRAL).mean()),
    }


def probability_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Three-class figures of the top class plus the polarity figures of the score."""
    result = classification_metrics(y_true, probs.argmax(axis=1))
    result.update(polarity_metrics(y_true, probs))
    return result


def per_source_metrics(data: LabelledData, probs: np.ndarray) -> dict[str, dict[str, Any]]:
    """:func:`probability_metrics` for the rows of each source, by source name."""
    out: dict[str, dict[str, Any]] = {}
    ids = data.origin_ids()
    for i, source in enumerate(data.sources):
        rows = ids == i
        if rows.any():
            out[source.name] = probability_metrics(data.labels[rows], probs[rows])
    return out


def selection_score(data: LabelledData, probs: np.ndarray) -> float:
    """One number to choose an epoch by: the mean over sources of each source's own figure,
    weighted F1 for a three-class source and ROC AUC for one without a neutral class.

    For one three-class source this is its weighted F1, as before sources were combined.
    """
    scores: list[float] = []
    ids = data.origin_ids()
    for i, source in enumerate(data.sources):
        rows = ids == i
        if not rows.any():
            continue
        if source.has_neutral:
            pred = probs[rows].argmax(axis=1)
            scores.append(classification_metrics(data.labels[rows], pred)["weighted_f1"])
        else:
            auc = polarity_metrics(data.labels[rows], probs[rows]).get("roc_auc")
            if auc is not None:
                scores.append(auc)
    return float(np.mean(scores)) if scores else 0.0


def evaluate(model: SentimentModel, data: LabelledData) -> dict[str, Any]:
    """Score every text with ``model`` and compare with the file's labels: three-class and
    polarity figures, and the same per source when the rows came from several."""
    probs = model.predict_proba(list(data.texts))
    result = probability_metrics(data.labels, probs)
    if len(data.sources) > 1:
        result["per_source"] = per_source_metrics(data, probs)
    result["model_version"] = model.version
    return result
