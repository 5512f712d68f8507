"""Helpers of the vector tests: hand-written unit vectors (a few dimensions that mean
something, so each test knows the exact cosines it expects), documents and points, the
Qdrant server when one is configured, and a fixed query embedder."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlparse

import numpy as np
import pytest
from numpy.typing import NDArray

from core.records import Document, SourceFamily
from nlp.vectors.base import DocPayload, VectorPoint
from tests.factories import T0, doc

DIM = 16
SERVER_ENV = "CRYPTOSENSE_TEST_QDRANT_URL"


def unit(*components: float) -> NDArray[np.float32]:
    """A unit vector whose first components are given (the rest zero)."""
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(components)] = components
    return v / np.linalg.norm(v)


def make_doc(
    name: str,
    *,
    assets: tuple[str, ...] = ("BTC",),
    source: str = "rss:alpha",
    family: SourceFamily = SourceFamily.NEWS,
    published_min: int = 0,
    ingested_min: int | None = None,
    title: str | None = None,
) -> Document:
    d = doc(
        f"https://news.example.com/{name}",
        title=title or f"Story {name}",
        text=f"Body of {name}.",
        source=source,
        assets=assets,
        family=family,
        minutes=published_min,
    )
    if ingested_min is not None:
        d = d.model_copy(update={"ingested_at": T0 + timedelta(minutes=ingested_min)})
    return d


def point(vector: NDArray[np.float32], document: Document) -> VectorPoint:
    return VectorPoint(document.id, vector, DocPayload.from_document(document).to_payload())


def server_url() -> str:
    url = os.environ.get(SERVER_ENV)
    if not url:
        pytest.skip(f"no Qdrant server: set {SERVER_ENV}=http://127.0.0.1:6333 to include one")
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or 6333), timeout=1):
            pass
    except OSError:
        pytest.skip(f"{SERVER_ENV}={url} is not reachable")
    return url


class FixedEmbedder:
    """Answers every query with one vector: stands in for the encoder around the store."""

    name = "fixed/test"
    dim = DIM

    def __init__(self, vector: NDArray[np.float32]) -> None:
        self.vector = vector

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.tile(self.vector, (len(texts), 1))
