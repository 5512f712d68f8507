"""The vector store interface, its records, and the payload every document vector carries.

Two real backends implement :class:`VectorStore`: :class:`nlp.vectors.edge.QdrantEdgeStore`
(Qdrant's engine in-process, the default) and :class:`nlp.vectors.client.QdrantClientStore`
(a Qdrant server, or qdrant-client's local mode). Both speak only the records below, so the
search code and the tests are the same for each; the backends translate
:class:`SearchFilter` into their own filter types.
"""

from __future__ import annotations

import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from core.records import Document, SentimentScore
from core.times import ensure_utc

DEFAULT_DIM = 384

# Payload fields that filters use, and the index kind each needs (keyword match or range).
KEYWORD_FIELDS = ("assets", "source", "family")
RANGE_FIELDS = ("published_at", "ingested_at")


class VectorStoreError(Exception):
    """The vector store refused or failed an operation; the message says which and why."""


def to_epoch(value: datetime) -> float:
    """Payload times are epoch seconds (UTC) so range filters compare numbers."""
    return ensure_utc(value).timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), tz=UTC)


def check_point_id(point_id: str) -> str:
    """Qdrant ids are UUIDs (or integers); documents already have UUIDv5 ids."""
    try:
        return str(uuid.UUID(str(point_id)))
    except ValueError:
        raise VectorStoreError(f"point id {point_id!r} is not a UUID") from None


def as_vector(values: ArrayLike, dim: int) -> list[float]:
    """A finite vector of the store's dimension, as the plain floats both clients take."""
    arr = np.asarray(values, dtype=np.float32).reshape(-1)
    if arr.shape[0] != dim:
        raise VectorStoreError(f"vector has {arr.shape[0]} dimensions, the store holds {dim}")
    if not np.all(np.isfinite(arr)):
        raise VectorStoreError("vector holds NaN or infinite values")
    if not np.any(arr):
        raise VectorStoreError("an all-zero vector has no direction to compare by cosine")
    floats: list[float] = arr.tolist()
    return floats


@dataclass(frozen=True)
class VectorPoint:
    """One vector to store: the document id, its embedding and its payload."""

    id: str
    vector: ArrayLike
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VectorHit:
    """A search result; ``score`` is the cosine similarity to the query."""

    id: str
    score: float
    payload: dict[str, Any]
    vector: NDArray[np.float32] | None = None


@dataclass(frozen=True)
class StoredPoint:
    """A point fetched by id."""

    id: str
    payload: dict[str, Any]
    vector: NDArray[np.float32] | None = None


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return. Empty fields do not filter.

    ``published_since`` is inclusive and ``published_until`` exclusive, so equal bounds are a
    valid, empty window (:attr:`empty`) and only an end before the start is refused. ``asof``
    keeps only points with ``ingested_at <= asof``: what the service knew at that moment, so
    an answer about time T never uses a document that arrived after T (even one published
    before T).
    """

    assets: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    published_since: datetime | None = None
    published_until: datetime | None = None
    asof: datetime | None = None
    exclude_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "assets", tuple(a.strip().upper() for a in self.assets if a))
        for name in ("published_since", "published_until", "asof"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, ensure_utc(value))
        if (
            self.published_since is not None
            and self.published_until is not None
            and self.published_until < self.published_since
        ):
            raise ValueError("published_until must not be before published_since")

    @property
    def empty(self) -> bool:
        """The publication window holds no time at all (``since == until``): nothing passes."""
        return self.published_since is not None and self.published_since == self.published_until

    def published_range(self) -> tuple[float | None, float | None]:
        """``(gte, lt)`` in epoch seconds for the published_at range, either may be None."""
        since = to_epoch(self.published_since) if self.published_since else None
        until = to_epoch(self.published_until) if self.published_until else None
        return since, until

    def asof_epoch(self) -> float | None:
        return to_epoch(self.asof) if self.asof is not None else None

    def with_excluded(self, *ids: str) -> SearchFilter:
        return SearchFilter(
            assets=self.assets,
            sources=self.sources,
            families=self.families,
            published_since=self.published_since,
            published_until=self.published_until,
            asof=self.asof,
            exclude_ids=(*self.exclude_ids, *ids),
        )


class DocPayload(BaseModel):
    """The payload stored with a document's vector: enough to filter, cite and show it
    without a database round trip. Times are epoch seconds (UTC)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str
    assets: tuple[str, ...] = ()
    source: str
    family: str
    published_at: float
    ingested_at: float
    title: str = ""
    url: str | None = None
    sentiment: float | None = None
    label: str | None = None
    sentiment_model: str | None = None
    scored_at: float | None = None
    embedder: str = ""

    @classmethod
    def from_document(
        cls, doc: Document, score: SentimentScore | None = None, *, embedder: str = ""
    ) -> DocPayload:
        return cls(
            document_id=doc.id,
            assets=tuple(doc.assets),
            source=doc.source,
            family=doc.family.value,
            published_at=to_epoch(doc.published_at),
            ingested_at=to_epoch(doc.ingested_at),
            title=doc.title,
            url=doc.url,
            embedder=embedder,
            **sentiment_fields(score),
        )

    def to_payload(self) -> dict[str, Any]:
        data = self.model_dump()
        data["assets"] = list(self.assets)
        return data


def sentiment_fields(score: SentimentScore | None) -> dict[str, Any]:
    """The payload keys that carry a document's latest sentiment score (None when unscored)."""
    if score is None:
        return {"sentiment": None, "label": None, "sentiment_model": None, "scored_at": None}
    return {
        "sentiment": round(score.score, 6),
        "label": score.label.value,
        "sentiment_model": score.model_version,
        "scored_at": to_epoch(score.scored_at),
    }


@runtime_checkable
class VectorStore(Protocol):
    """A collection of document vectors with payloads, searched by cosine similarity."""

    @property
    def dim(self) -> int: ...

    @property
    def description(self) -> str:
        """Where the vectors live, for logs and messages (e.g. ``edge:var/vectors/documents``)."""
        ...

    def upsert(self, points: Sequence[VectorPoint]) -> int:
        """Insert or replace points by id; returns how many were written. Idempotent."""
        ...

    def search(
        self,
        vector: ArrayLike,
        filters: SearchFilter | None = None,
        limit: int = 10,
        *,
        with_vectors: bool = False,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        """Nearest points by cosine, best first."""
        ...

    def count(self, filters: SearchFilter | None = None) -> int: ...

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[StoredPoint]:
        """The points among ``ids`` that exist (missing ids are left out)."""
        ...

    def delete(self, ids: Sequence[str]) -> int:
        """Remove points by id; returns how many existed."""
        ...

    def set_payload(self, point_id: str, values: Mapping[str, Any]) -> None:
        """Overwrite some payload keys of one point, keeping the others."""
        ...

    def near_duplicates(
        self,
        point_id: str,
        threshold: float = 0.92,
        filters: SearchFilter | None = None,
        limit: int = 100,
    ) -> list[VectorHit]:
        """Other points at cosine >= ``threshold`` from this one (reposts, syndicated copies)."""
        ...

    def optimize(self) -> None:
        """Build indexes for what was written (a no-op where the engine does it by itself)."""
        ...

    def close(self) -> None: ...


class VectorStoreBase(ABC):
    """Shared behaviour: near-duplicates in terms of retrieve + search, context management."""

    _dim: int

    @property
    def dim(self) -> int:
        return self._dim

    @abstractmethod
    def search(
        self,
        vector: ArrayLike,
        filters: SearchFilter | None = None,
        limit: int = 10,
        *,
        with_vectors: bool = False,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        """Nearest points by cosine, best first (each backend's own query)."""

    @abstractmethod
    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[StoredPoint]:
        """Points by id (each backend's own lookup)."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine or the connection."""

    def near_duplicates(
        self,
        point_id: str,
        threshold: float = 0.92,
        filters: SearchFilter | None = None,
        limit: int = 100,
    ) -> list[VectorHit]:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        found = self.retrieve([point_id], with_vectors=True)
        if not found or found[0].vector is None:
            raise VectorStoreError(f"no point {point_id} in the vector store")
        flt = (filters or SearchFilter()).with_excluded(check_point_id(point_id))
        return self.search(
            found[0].vector, flt, limit, with_vectors=False, score_threshold=threshold - 1e-6
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def vector_array(values: Any) -> NDArray[np.float32] | None:
    """A returned vector as float32, or None when the engine gave none."""
    if values is None:
        return None
    if isinstance(values, Mapping):  # named vectors: this store uses the unnamed default
        values = values.get("", next(iter(values.values()), None))
        if values is None:
            return None
    return np.asarray(values, dtype=np.float32)


def clean_score(value: float) -> float:
    """Cosine from float32 arithmetic can exceed 1 by an ulp; keep scores in [-1, 1]."""
    return float(min(1.0, max(-1.0, value))) if math.isfinite(value) else -1.0
