"""Score stored documents that the current model has not scored yet.

Identical text is never run through the model twice for one model version: probabilities
are cached per ``sha256(normalise_text(text))`` and model version in the store's
``sentiment_cache`` table (SQLite or PostgreSQL, so the cache survives restarts and is shared
by every process on the same database). Reposts and syndicated copies cost a lookup, not a
forward pass.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from core.records import normalise_text
from core.store import Store
from nlp.sentiment.base import SentimentModel, to_scores

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    """Cache key of a text: its normalised form's sha256 (the model version is the other half)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


@dataclass
class ScoringStats:
    """What one call did; ``predicted`` counts texts that went through the model."""

    scored: int = 0
    predicted: int = 0
    cache_hits: int = 0


def score_pending(
    store: Store,
    model: SentimentModel,
    *,
    batch_size: int = 256,
    limit: int | None = None,
    stats: ScoringStats | None = None,
) -> int:
    """Score documents without a score from ``model.version``; returns how many were scored.

    Works in batches of ``batch_size`` documents, each stored in its own transaction, so an
    interruption loses at most one batch of work and a rerun resumes where it stopped.
    """
    stats = stats if stats is not None else ScoringStats()
    version = model.version
    while limit is None or stats.scored < limit:
        want = batch_size if limit is None else min(batch_size, limit - stats.scored)
        docs = store.scores.pending(version, limit=want)
        if not docs:
            break
        keys = [text_key(d.body) for d in docs]
        probs = _probabilities(store, model, [d.body for d in docs], keys, stats)
        added = store.scores.add(to_scores([d.id for d in docs], probs, version))
        stats.scored += len(docs)
        if added == 0:  # someone else scored this batch meanwhile; do not spin on it
            log.info("batch of %d documents was already scored by another process", len(docs))
        if len(docs) < want:
            break
    log.info(
        "scored %d documents with %s (%d model passes, %d cache hits)",
        stats.scored,
        version,
        stats.predicted,
        stats.cache_hits,
    )
    return stats.scored


def predict_with_cache(
    store: Store,
    model: SentimentModel,
    texts: list[str],
    stats: ScoringStats | None = None,
) -> np.ndarray:
    """Probabilities for raw texts through the cache (what ``score_pending`` does per batch):
    each normalised text goes through the model at most once per model version."""
    stats = stats if stats is not None else ScoringStats()
    return _probabilities(store, model, texts, [text_key(t) for t in texts], stats)


def _probabilities(
    store: Store,
    model: SentimentModel,
    texts: list[str],
    keys: list[str],
    stats: ScoringStats,
) -> np.ndarray:
    """Rows for ``texts`` from the cache where known, from the model (once per key) otherwise."""
    known = store.score_cache.lookup(model.version, keys)
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in known and key not in missing:
            missing[key] = text
    stats.cache_hits += sum(1 for k in keys if k in known)
    if missing:
        fresh = model.predict_proba(list(missing.values()))
        new = {
            k: (float(r[0]), float(r[1]), float(r[2])) for k, r in zip(missing, fresh, strict=True)
        }
        store.score_cache.remember(model.version, new)
        known.update(new)
        stats.predicted += len(missing)
    return np.asarray([known[k] for k in keys], dtype=np.float64)


__all__ = ["ScoringStats", "predict_with_cache", "score_pending", "text_key"]
