"""The default vector store: Qdrant's engine in-process through qdrant-edge-py.

A shard is a folder (``data_dir/vectors/<collection>``) holding segments, payload indexes and
a write-ahead log, so writes survive a crash and a restart reopens the same points. Qdrant
Edge builds HNSW graphs only when asked (:meth:`QdrantEdgeStore.optimize`); until then new
points sit in an appendable segment that is searched exactly, which is correct at any size
and fast for the few thousand points one collection run adds. Only one process may hold a
shard open: the engine locks its write-ahead log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from numpy.typing import ArrayLike

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

UPSERT_BATCH = 1000

#: Where the engine keeps vectors, HNSW graph, payload and id tracker: ``pinned`` loads them
#: into RAM (no page faults on a search; about 2.7 KB a point with payload and indexes at 1M),
#: ``cached`` memory-maps them and lets the OS page cache decide (less RAM, slower tails under
#: memory pressure).
MEMORY_MODES: dict[str, qe.Memory] = {"pinned": qe.Memory.Pinned, "cached": qe.Memory.Cached}

#: Below this many KB of matching vectors per segment (about 26k 384-d points) the engine
#: scores the filtered points exactly instead of walking the HNSW graph. Restrictive filters
#: (one asset, a 30-day window, as-of) strand a graph walk: at 1M points the engine's default
#: (10,000 KB) walked the graph and found 61% of the true top 10; exactly, all of them in
#: p99 19.6 ms. Broad filters (one asset of ten, half the history) stay on the graph.
FULL_SCAN_KB = 40_000


class QdrantEdgeStore(VectorStoreBase):
    """A persistent Qdrant Edge shard of ``dim``-dimensional cosine vectors."""

    def __init__(
        self,
        path: Path,
        dim: int = DEFAULT_DIM,
        *,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        hnsw_ef: int | None = None,
        quantize: bool = True,
        memory: str = "pinned",
        acorn: bool = False,
        full_scan_kb: int = FULL_SCAN_KB,
    ) -> None:
        if memory not in MEMORY_MODES:
            raise VectorStoreError(
                f"vector memory must be one of {', '.join(MEMORY_MODES)}, not {memory!r}"
            )
        placement = MEMORY_MODES[memory]
        self._path = Path(path)
        self._dim = dim
        self._lock = threading.RLock()
        # int8 scalar quantisation of indexed segments: the HNSW build and the search both
        # compare int8 codes (about 3x less CPU to build), then the best candidates, twice as
        # many as asked for, are rescored on the original float32 vectors, so scores stay exact.
        quantization = (
            qe.ScalarQuantizationConfig(
                type=qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned
            )
            if quantize
            else None
        )
        self._quantize = quantize
        self._params = self._search_params(hnsw_ef, acorn)
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=placement),
            hnsw_config=qe.HnswIndexConfig(
                m=hnsw_m,
                ef_construct=hnsw_ef_construct,
                full_scan_threshold=full_scan_kb,
                memory=placement,
            ),
            quantization_config=quantization,
            payload_memory=placement,
            id_tracker_memory=placement,
        )
        with self._errors("open"):
            if (self._path / "edge_config.json").is_file():
                self._shard = qe.EdgeShard.load(str(self._path), config)
            else:
                self._path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(self._path), config)
                self._create_payload_indexes()
        self._closed = False

    def _search_params(self, hnsw_ef: int | None, acorn: bool) -> qe.SearchParams:
        # ACORN (off by default) also walks neighbours of neighbours when a filter passes few
        # points: at 1M points it lifted one-asset recall from 0.95 to 0.997 but took p99 from
        # 3 to 46 ms; the full-scan threshold above serves the restrictive filters instead.
        return qe.SearchParams(
            hnsw_ef=hnsw_ef,
            quantization=qe.QuantizationSearchParams(rescore=True, oversampling=2.0)
            if self._quantize
            else None,
            acorn=qe.AcornSearchParams(enable=True, max_selectivity=0.4) if acorn else None,
        )

    def tune_search(self, *, hnsw_ef: int | None = None, acorn: bool = False) -> None:
        """Change the search breadth and ACORN for later searches (benchmarks compare them)."""
        with self._lock:
            self._params = self._search_params(hnsw_ef, acorn)

    @property
    def description(self) -> str:
        return f"edge:{self._path}"

    @property
    def path(self) -> Path:
        return self._path

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Engine errors arrive as bare ``Exception``s; give them a message a user can act on."""
        try:
            yield
        except VectorStoreError:
            raise
        except Exception as err:
            text = str(err)
            if "WouldBlock" in text:
                raise VectorStoreError(
                    f"the vector store at {self._path} is open in another process (the API or "
                    "another cryptosense command); stop it or use a Qdrant server"
                ) from err
            if "dimension" in text.lower() or "incompatible" in text.lower():
                raise VectorStoreError(
                    f"the vector store at {self._path} was built for other vectors than "
                    f"{self._dim}-d cosine ({text}); re-embed into a new collection"
                ) from err
            raise VectorStoreError(f"vector store {action} failed at {self._path}: {text}") from err

    def _create_payload_indexes(self) -> None:
        for name in KEYWORD_FIELDS:
            self._shard.update(
                qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword)
            )
        for name in RANGE_FIELDS:
            self._shard.update(
                qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Float)
            )

    def _check_open(self) -> None:
        if self._closed:
            raise VectorStoreError(f"the vector store at {self._path} is closed")

    # writes -----------------------------------------------------------------------------

    def upsert(self, points: Sequence[VectorPoint]) -> int:
        batch = [
            qe.Point(
                id=check_point_id(p.id),
                vector=as_vector(p.vector, self._dim),
                payload=dict(p.payload),
            )
            for p in points
        ]
        with self._lock, self._errors("upsert"):
            self._check_open()
            for start in range(0, len(batch), UPSERT_BATCH):
                chunk = batch[start : start + UPSERT_BATCH]
                self._shard.update(qe.UpdateOperation.upsert_points(chunk))
        return len(batch)

    def delete(self, ids: Sequence[str]) -> int:
        present = [p.id for p in self.retrieve(ids)]
        if present:
            with self._lock, self._errors("delete"):
                self._shard.update(qe.UpdateOperation.delete_points(list(present)))
        return len(present)

    def set_payload(self, point_id: str, values: Mapping[str, Any]) -> None:
        with self._lock, self._errors("set_payload"):
            self._check_open()
            self._shard.update(
                qe.UpdateOperation.set_payload([check_point_id(point_id)], dict(values))
            )

    def optimize(self) -> None:
        """Build HNSW graphs and merge small segments; blocking, and worth it after bulk
        writes (about 1.5 s per 1,000 points on two busy cores)."""
        with self._lock, self._errors("optimize"):
            self._check_open()
            self._shard.optimize()

    def flush(self) -> None:
        with self._lock, self._errors("flush"):
            self._check_open()
            self._shard.flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            with self._errors("close"):
                self._shard.flush()
                self._shard.close()
            self._closed = True

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
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(as_vector(vector, self._dim)),
            filter=edge_filter(filters),
            with_payload=True,
            with_vector=with_vectors,
            score_threshold=score_threshold,
            params=self._params,
        )
        with self._lock, self._errors("search"):
            self._check_open()
            found = self._shard.query(request)
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
        with self._lock, self._errors("count"):
            self._check_open()
            return int(self._shard.count(qe.CountRequest(exact=True, filter=edge_filter(filters))))

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[StoredPoint]:
        wanted: list[qe.PointId] = [check_point_id(i) for i in ids]
        if not wanted:
            return []
        with self._lock, self._errors("retrieve"):
            self._check_open()
            records = self._shard.retrieve(wanted, with_payload=True, with_vector=with_vectors)
        return [
            StoredPoint(
                id=str(r.id),
                payload=dict(r.payload or {}),
                vector=vector_array(r.vector) if with_vectors else None,
            )
            for r in records
        ]

    def info(self) -> dict[str, int]:
        """Points, segments and how many vectors sit in an HNSW index (for the benchmark)."""
        with self._lock, self._errors("info"):
            self._check_open()
            info = self._shard.info()
        return {
            "points": int(info.points_count),
            "segments": int(info.segments_count),
            "indexed_vectors": int(info.indexed_vectors_count),
        }


def edge_filter(filters: SearchFilter | None) -> qe.Filter | None:
    """A :class:`SearchFilter` as a Qdrant Edge filter (None when it filters nothing)."""
    if filters is None:
        return None
    must: list[qe.ConditionType] = []
    for key, values in (
        ("assets", filters.assets),
        ("source", filters.sources),
        ("family", filters.families),
    ):
        if values:
            must.append(qe.FieldCondition(key=key, match=qe.MatchAny(list(values))))
    since, until = filters.published_range()
    if since is not None or until is not None:
        must.append(qe.FieldCondition(key="published_at", range=qe.RangeFloat(gte=since, lt=until)))
    asof = filters.asof_epoch()
    if asof is not None:
        must.append(qe.FieldCondition(key="ingested_at", range=qe.RangeFloat(lte=asof)))
    must_not: list[qe.ConditionType] = []
    if filters.exclude_ids:
        must_not.append(qe.HasIdCondition({check_point_id(i) for i in filters.exclude_ids}))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)
