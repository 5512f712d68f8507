"""The ``vstore`` fixture: the same suite on every vector backend available."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlp.vectors.base import VectorStore
from nlp.vectors.client import QdrantClientStore
from nlp.vectors.edge import QdrantEdgeStore
from tests.nlp.vectors.support import DIM, server_url


@pytest.fixture(params=["edge", "local", pytest.param("server", marks=pytest.mark.integration)])
def vstore(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """One empty 16-d store per test on each backend."""
    store: VectorStore
    if request.param == "edge":
        store = QdrantEdgeStore(tmp_path / "edge", DIM)
    elif request.param == "local":
        store = QdrantClientStore("docs", DIM, location=":memory:")
    else:
        name = f"cryptosense_test_{uuid.uuid4().hex[:10]}"
        store = QdrantClientStore(name, DIM, url=server_url())
    yield store
    if isinstance(store, QdrantClientStore) and request.param == "server":
        store.drop()
    store.close()
