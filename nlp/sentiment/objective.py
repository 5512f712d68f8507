"""The training loss when sources label different sets of classes.

A source with no neutral class (posts their authors tagged Bullish or Bearish) says which of
the two polar labels fits, not that the text is polar at all. Plain cross-entropy over three
classes would teach the model that nothing is neutral; dropping those rows would waste the
only crypto social text there is. So each row's cross-entropy is taken over the classes its
source gives: on a polar-only row the softmax runs over the negative and positive logits
alone, the neutral logit gets no gradient, and the row teaches which way, never whether.
"""

from __future__ import annotations

from typing import Any


def masked_cross_entropy(logits: Any, labels: Any, masks: Any, weights: Any | None) -> Any:
    """Cross-entropy of each row over the classes ``masks`` allows (rows x classes, bool),
    averaged with ``weights`` (one per row; None: the plain mean)."""
    import torch
    import torch.nn.functional as F

    restricted = logits.masked_fill(~masks, torch.finfo(logits.dtype).min)
    per_row = F.cross_entropy(restricted, labels, reduction="none")
    if weights is None:
        return per_row.mean()
    return (per_row * weights).sum() / weights.sum()
