"""Financial sentiment: the model interface, its hub and local implementations, training,
evaluation and the offline fallback. Heavy libraries load only when a model is built."""

from nlp.sentiment.base import LABEL_NAMES, SentimentModel, to_scores

__all__ = ["LABEL_NAMES", "SentimentModel", "to_scores"]
