"""Metrics for a sentiment model on labelled data: the numbers ``cryptosense nlp eval`` prints.

scikit-learn computes them, so they mean exactly what the published anchors mean (weighted F1
on Twitter Financial News); the confusion matrix always has the three labels in project order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nlp.sentiment.base import LABEL_NAMES, SentimentModel
from nlp.sentiment.data import LabelledData


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


def evaluate(model: SentimentModel, data: LabelledData) -> dict[str, Any]:
    """Score every text with ``model`` and compare with the file's labels."""
    probs = model.predict_proba(list(data.texts))
    result = classification_metrics(data.labels, probs.argmax(axis=1))
    result["model_version"] = model.version
    return result
