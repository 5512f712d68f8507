"""Deterministic stand-ins for the sentence encoder, for tests about the plumbing around it
(indexing, the API's search route); the real encoder is tested in test_embeddings.py."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


class BagOfWordsEmbedder:
    """Hashes words into buckets: deterministic, and texts sharing words land close. A
    stand-in for the encoder where the test is about the indexing plumbing."""

    name = "bag-of-words/test"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)
