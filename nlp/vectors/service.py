"""Vector search inside a long-running process: one embedder and one store, opened on first use.

``cryptosense run`` embeds documents into it as the pipeline scores them, and the API's
``GET /v1/search`` reads the same store, so an edge shard (which one process may hold at a
time) serves both. Opening is lazy: a process that never searches never loads the encoder.
If the store cannot be opened (held by another process, a broken export), every call says
so with :class:`SearchUnavailable` instead of a traceback, and a later call tries again.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from core.paths import DataDirError, DataPaths
from core.settings import EmbeddingSettings, VectorSettings
from core.store import Store
from nlp.embeddings import Embedder, EmbeddingError
from nlp.vectors.base import SearchFilter, VectorStore, VectorStoreError
from nlp.vectors.indexing import IndexReport, index_documents
from nlp.vectors.search import Story, search_stories, semantic_search

log = logging.getLogger(__name__)


class SearchUnavailable(VectorStoreError):
    """The embedder or the vector store could not be opened; the message says why."""


class VectorSearch:
    """Index stored documents and search them, thread-safe, for one process.

    ``embedder`` and ``vectors`` may be given (tests, a caller that already holds them);
    otherwise they are built from the ``embeddings`` and ``vector`` sections, under ``paths``,
    on first use and closed by :meth:`close`.
    """

    def __init__(
        self,
        vector: VectorSettings,
        embeddings: EmbeddingSettings,
        paths: DataPaths,
        *,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
    ) -> None:
        self._vector = vector
        self._embeddings = embeddings
        self._paths = paths
        self._embedder = embedder
        self._vectors = vectors
        self._owns_vectors = vectors is None
        self._open_lock = threading.Lock()
        self._index_lock = threading.Lock()
        # Where the last index run stopped, and for which sentiment model: a new model
        # means a full walk, so payloads get its scores.
        self._cursor: tuple[datetime, str] | None = None
        self._cursor_version: str | None = None

    def _open(self) -> tuple[Embedder, VectorStore]:
        with self._open_lock:
            try:
                if self._embedder is None:
                    from nlp.embeddings import build_embedder

                    self._embedder = build_embedder(self._embeddings, self._paths)
                if self._vectors is None:
                    from nlp.vectors import build_vector_store

                    self._vectors = build_vector_store(
                        self._vector, self._paths, self._embedder.dim
                    )
            except (EmbeddingError, VectorStoreError, DataDirError) as err:
                raise SearchUnavailable(f"vector search is unavailable: {err}") from err
            return self._embedder, self._vectors

    def index(self, store: Store, model_version: str | None) -> IndexReport:
        """Embed the documents stored since the last call (all of them on the first call
        and whenever ``model_version`` changes, which also refreshes payload sentiment)."""
        embedder, vectors = self._open()
        with self._index_lock:
            if model_version != self._cursor_version:
                self._cursor = None
            report = index_documents(store, embedder, vectors, model_version, after=self._cursor)
            self._cursor = report.cursor or self._cursor
            self._cursor_version = model_version
        if report.embedded:
            log.info("embedded %d new documents in %.1f s", report.embedded, report.seconds)
        return report

    def search(
        self,
        query: str,
        filters: SearchFilter | None = None,
        *,
        limit: int = 10,
        collapse: bool = True,
        same_asset: bool = False,
        threshold: float | None = None,
    ) -> list[Story]:
        """Stories (copies collapsed, ``collapse``) or single documents, best first.

        An empty publication window answers at once, without opening the encoder."""
        if filters is not None and filters.empty:
            return []
        embedder, vectors = self._open()
        if not collapse:
            return [
                Story(id=h.id, score=h.score, payload=h.payload, member_ids=(h.id,))
                for h in semantic_search(vectors, embedder, query, filters, limit)
            ]
        return search_stories(
            vectors,
            embedder,
            query,
            filters,
            limit=limit,
            threshold=(
                threshold if threshold is not None else self._vector.near_duplicate_threshold
            ),
            same_asset=same_asset,
        )

    def count(self) -> int:
        return self._open()[1].count()

    def close(self) -> None:
        with self._open_lock:
            if self._vectors is not None and self._owns_vectors:
                self._vectors.close()
                self._vectors = None
