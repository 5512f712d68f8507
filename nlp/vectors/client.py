"""The vector store on qdrant-client: a Qdrant server by URL, or the client's local mode.

A server is what a deployment with several processes (API, collectors, agent) shares. The
local mode (``":memory:"`` or a folder) runs the same client API in pure Python with exact
search; it is slow beyond a few tens of thousands of points but needs nothing installed,
which makes it the second real backend in tests where no server binary exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from numpy.typing import ArrayLike
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from nlp.vectors.base import (
    DEFAULT_DIM,
    KEYWORD_FIELDS,
    RANGE_FIELDS,
    SearchFilter,
    StoredPoint,
    VectorHit,
    VectorPoint,
    VectorStoreBase,
    VectorStoreError,
    as_vector,
    check_point_id,
    clean_score,
    vector_array,
)

log = logging.getLogger(__name__)

UPSERT_BATCH = 256


class QdrantClientStore(VectorStoreBase):
    """One collection on a Qdrant server (``url``) or in local mode (``location``/``path``)."""

    def __init__(
        self,
        collection: str,
        dim: int = DEFAULT_DIM,
        *,
        url: str | None = None,
        api_key: str | None = None,
        location: str | None = None,
        path: Path | None = None,
        timeout_s: float = 10.0,
        hnsw_ef: int | None = None,
    ) -> None:
        if sum(x is not None for x in (url, location, path)) != 1:
            raise ValueError("give exactly one of url (server), location (':memory:') or path")
        self._collection = collection
        self._dim = dim
        self._remote = url is not None
        self._where = url or location or str(path)
        self._params = models.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef else None
        with self._errors("connect"):
            if url is not None:
                self._client = QdrantClient(
                    url=url, api_key=api_key, timeout=int(timeout_s), check_compatibility=False
                )
            elif path is not None:
                Path(path).mkdir(parents=True, exist_ok=True)
                self._client = QdrantClient(path=str(path))
            else:
                self._client = QdrantClient(location=location)
            self._ensure_collection()

    @property
    def description(self) -> str:
        kind = "server" if self._remote else "local"
        return f"{kind}:{self._where}/{self._collection}"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except VectorStoreError:
            raise
        except (UnexpectedResponse, ResponseHandlingException, httpx.HTTPError) as err:
            raise VectorStoreError(
                f"Qdrant at {self._where} failed to {action} ({type(err).__name__}: {err})"
            ) from err
        except RuntimeError as err:  # local mode: a folder already open in another process
            raise VectorStoreError(f"qdrant-client local store at {self._where}: {err}") from err

    def _ensure_collection(self) -> None:
        if self._client.collection_exists(self._collection):
            params = self._client.get_collection(self._collection).config.params.vectors
            size = params.size if isinstance(params, models.VectorParams) else None
            if size != self._dim:
                raise VectorStoreError(
                    f"collection {self._collection!r} at {self._where} holds {size}-d vectors, "
                    f"not {self._dim}-d; re-embed into a new collection"
                )
            return
        self._client.create_collection(
            self._collection,
            vectors_config=models.VectorParams(size=self._dim, distance=models.Distance.COSINE),
        )
        if self._remote:  # local mode has no payload indexes and warns about them
            for name in KEYWORD_FIELDS:
                self._client.create_payload_index(
                    self._collection, name, field_schema=models.PayloadSchemaType.KEYWORD
                )
            for name in RANGE_FIELDS:
                self._client.create_payload_index(
                    self._collection, name, field_schema=models.PayloadSchemaType.FLOAT
                )

    # writes -----------------------------------------------------------------------------

    def upsert(self, points: Sequence[VectorPoint]) -> int:
        batch = [
            models.PointStruct(
                id=check_point_id(p.id),
                vector=as_vector(p.vector, self._dim),
                payload=dict(p.payload),
            )
            for p in points
        ]
        with self._errors("upsert"):
            for start in range(0, len(batch), UPSERT_BATCH):
                self._client.upsert(
                    self._collection, points=batch[start : start + UPSERT_BATCH], wait=True
                )
        return len(batch)

    def delete(self, ids: Sequence[str]) -> int:
        present: list[models.ExtendedPointId] = [p.id for p in self.retrieve(ids)]
        if present:
            with self._errors("delete"):
                self._client.delete(
                    self._collection,
                    points_selector=models.PointIdsList(points=present),
                    wait=True,
                )
        return len(present)

    def set_payload(self, point_id: str, values: Mapping[str, Any]) -> None:
        with self._errors("set payload"):
            self._client.set_payload(
                self._collection, payload=dict(values), points=[check_point_id(point_id)], wait=True
            )

    def optimize(self) -> None:
        """A server indexes in the background and local mode has no index: nothing to do."""

    def close(self) -> None:
        self._client.close()

    # reads ------------------------------------------------------------------------------

    def search(
        self,
        vector: ArrayLike,
        filters: SearchFilter | None = None,
        limit: int = 10,
        *,
        with_vectors: bool = False,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._errors("search"):
            found = self._client.query_points(
                self._collection,
                query=as_vector(vector, self._dim),
                query_filter=client_filter(filters),
                limit=limit,
                with_payload=True,
                with_vectors=with_vectors,
                score_threshold=score_threshold,
                search_params=self._params,
            ).points
        return [
            VectorHit(
                id=str(p.id),
                score=clean_score(p.score),
                payload=dict(p.payload or {}),
                vector=vector_array(p.vector) if with_vectors else None,
            )
            for p in found
        ]

    def count(self, filters: SearchFilter | None = None) -> int:
        with self._errors("count"):
            return int(
                self._client.count(
                    self._collection, count_filter=client_filter(filters), exact=True
                ).count
            )

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[StoredPoint]:
        wanted: list[models.ExtendedPointId] = [check_point_id(i) for i in ids]
        if not wanted:
            return []
        with self._errors("retrieve"):
            records = self._client.retrieve(
                self._collection, ids=wanted, with_payload=True, with_vectors=with_vectors
            )
        return [
            StoredPoint(
                id=str(r.id),
                payload=dict(r.payload or {}),
                vector=vector_array(r.vector) if with_vectors else None,
            )
            for r in records
        ]

    def drop(self) -> None:
        """Delete the whole collection (tests on a shared server clean up with this)."""
        with self._errors("drop the collection"):
            self._client.delete_collection(self._collection)


def client_filter(filters: SearchFilter | None) -> models.Filter | None:
    """A :class:`SearchFilter` as a qdrant-client filter (None when it filters nothing)."""
    if filters is None:
        return None
    must: list[models.Condition] = []
    for key, values in (
        ("assets", filters.assets),
        ("source", filters.sources),
        ("family", filters.families),
    ):
        if values:
            must.append(models.FieldCondition(key=key, match=models.MatchAny(any=list(values))))
    since, until = filters.published_range()
    if since is not None or until is not None:
        must.append(
            models.FieldCondition(key="published_at", range=models.Range(gte=since, lt=until))
        )
    asof = filters.asof_epoch()
    if asof is not None:
        must.append(models.FieldCondition(key="ingested_at", range=models.Range(lte=asof)))
    must_not: list[models.Condition] = []
    if filters.exclude_ids:
        must_not.append(
            models.HasIdCondition(has_id=[check_point_id(i) for i in filters.exclude_ids])
        )
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)
