"""Document vectors: a :class:`VectorStore` interface over two real Qdrant backends, semantic
search with as-of filters, near-duplicate stories, and indexing of stored documents.

The backends are imported only when built, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlp.vectors.base import (
    DEFAULT_DIM,
    DocPayload,
    SearchFilter,
    StoredPoint,
    VectorHit,
    VectorPoint,
    VectorStore,
    VectorStoreError,
)

if TYPE_CHECKING:
    from core.paths import DataPaths
    from core.settings import VectorSettings

__all__ = [
    "DEFAULT_DIM",
    "DocPayload",
    "SearchFilter",
    "StoredPoint",
    "VectorHit",
    "VectorPoint",
    "VectorStore",
    "VectorStoreError",
    "build_vector_store",
]


def build_vector_store(
    vector: VectorSettings, paths: DataPaths, dim: int = DEFAULT_DIM
) -> VectorStore:
    """The store ``vector`` names: ``edge`` (default) in ``paths.vectors/<collection>``, a
    Qdrant ``server`` at ``url``, or qdrant-client ``local`` mode (``url`` ':memory:' or a
    folder; default ``paths.vectors/local``).

    A shard folder that cannot be created raises :class:`core.paths.DataDirError`, whose one
    line names the folder, instead of an ``OSError`` from deep inside the engine.
    """
    if vector.backend == "edge":
        from nlp.vectors.edge import QdrantEdgeStore

        return QdrantEdgeStore(
            paths.ensure(paths.vectors / vector.collection),
            dim,
            hnsw_ef=vector.hnsw_ef,
            memory=vector.memory,
        )
    from pathlib import Path

    from nlp.vectors.client import QdrantClientStore

    if vector.backend == "server":
        if not vector.url:
            raise VectorStoreError(
                "vector.backend is 'server' but vector.url is unset "
                "(set CRYPTOSENSE_VECTOR__URL=http://host:6333)"
            )
        return QdrantClientStore(
            vector.collection,
            dim,
            url=vector.url,
            api_key=vector.api_key,
            timeout_s=vector.timeout_s,
            hnsw_ef=vector.hnsw_ef,
        )
    if vector.url == ":memory:":
        return QdrantClientStore(vector.collection, dim, location=":memory:")
    folder = Path(vector.url) if vector.url else paths.ensure(paths.vectors / "local")
    return QdrantClientStore(vector.collection, dim, path=folder)
