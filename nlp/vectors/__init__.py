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
    from core.settings import Settings

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


def build_vector_store(settings: Settings, dim: int = DEFAULT_DIM) -> VectorStore:
    """The store ``settings.vector`` names: ``edge`` (default) under ``data_dir/vectors``, a
    Qdrant ``server`` at ``url``, or qdrant-client ``local`` mode (``url`` ':memory:' or a
    folder; default ``data_dir/vectors/local``)."""
    cfg = settings.vector
    if cfg.backend == "edge":
        from nlp.vectors.edge import QdrantEdgeStore

        return QdrantEdgeStore(
            settings.data_dir / "vectors" / cfg.collection,
            dim,
            hnsw_ef=cfg.hnsw_ef,
            memory=cfg.memory,
        )
    from pathlib import Path

    from nlp.vectors.client import QdrantClientStore

    if cfg.backend == "server":
        if not cfg.url:
            raise VectorStoreError(
                "vector.backend is 'server' but vector.url is unset "
                "(set CRYPTOSENSE_VECTOR__URL=http://host:6333)"
            )
        return QdrantClientStore(
            cfg.collection,
            dim,
            url=cfg.url,
            api_key=cfg.api_key,
            timeout_s=settings.http.timeout_s,
            hnsw_ef=cfg.hnsw_ef,
        )
    if cfg.url == ":memory:":
        return QdrantClientStore(cfg.collection, dim, location=":memory:")
    folder = Path(cfg.url) if cfg.url else settings.data_dir / "vectors" / "local"
    return QdrantClientStore(cfg.collection, dim, path=folder)
