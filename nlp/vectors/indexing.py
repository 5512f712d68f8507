"""Embed stored documents into the vector store, once each, with their latest sentiment.

The store is walked page by page (oldest first); each page costs one lookup in the vector
store to see which documents are already there. New ones are embedded and upserted with
their payload; ones already there whose payload lacks this sentiment model's score get it
added (a document is often embedded before it is scored). Every page is written before the
next is read, so an interrupted run loses at most one page of work and a rerun resumes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from core.records import Document
from core.store import Store
from nlp.embeddings import Embedder
from nlp.vectors.base import (
    DocPayload,
    VectorPoint,
    VectorStore,
    VectorStoreError,
    sentiment_fields,
)

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What one :func:`index_documents` run did."""

    seen: int = 0
    embedded: int = 0
    refreshed: int = 0
    skipped_empty: int = 0
    seconds: float = 0.0
    #: The paging key of the last document seen: pass it as ``after`` to resume from there.
    cursor: tuple[datetime, str] | None = None


def index_documents(
    store: Store,
    embedder: Embedder,
    vectors: VectorStore,
    model_version: str | None,
    *,
    limit: int | None = None,
    page_size: int = 256,
    optimize: bool = True,
    after: tuple[datetime, str] | None = None,
) -> IndexReport:
    """Embed stored documents that the vector store lacks (at most ``limit`` this run).

    ``model_version`` names the sentiment model whose score goes into each payload (None:
    no sentiment). With ``optimize`` the store builds its search index after the writes.
    ``after`` (a previous report's ``cursor``) skips the documents an earlier run walked:
    what a service that indexes every few seconds needs, since it also skips refreshing
    their sentiment.
    """
    if embedder.dim != vectors.dim:
        raise VectorStoreError(
            f"the embedder gives {embedder.dim}-d vectors but {vectors.description} holds "
            f"{vectors.dim}-d ones"
        )
    if limit is not None and limit < 0:
        raise ValueError("limit cannot be negative")
    report = IndexReport()
    started = time.perf_counter()
    while limit is None or report.embedded < limit:
        docs = store.documents.page(after, page_size)
        if not docs:
            break
        after = (docs[-1].ingested_at, docs[-1].id)
        report.seen += len(docs)
        existing = {p.id: p.payload for p in vectors.retrieve([d.id for d in docs])}
        if model_version is not None:
            report.refreshed += _refresh_sentiment(store, vectors, docs, existing, model_version)
        todo = [d for d in docs if d.id not in existing and _has_text(d, report)]
        room = None if limit is None else limit - report.embedded
        whole_page = room is None or len(todo) <= room
        todo = todo[:room]
        _embed_page(store, embedder, vectors, todo, model_version, report)
        if whole_page:  # a cut page is walked again by the next run
            report.cursor = after
        log.info("indexed %d documents so far (%d seen)", report.embedded, report.seen)
    if optimize and report.embedded:
        vectors.optimize()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _has_text(doc: Document, report: IndexReport) -> bool:
    """A document without title or text has nothing to embed; it is counted, not stored."""
    if doc.body.strip():
        return True
    log.warning("document %s has no text to embed; skipped", doc.id)
    report.skipped_empty += 1
    return False


def _embed_page(
    store: Store,
    embedder: Embedder,
    vectors: VectorStore,
    docs: list[Document],
    model_version: str | None,
    report: IndexReport,
) -> None:
    if not docs:
        return
    matrix = embedder.encode([d.body.strip() for d in docs])
    points = []
    for doc, row in zip(docs, matrix, strict=True):
        score = store.scores.get(doc.id, model_version) if model_version else None
        payload = DocPayload.from_document(doc, score, embedder=embedder.name)
        points.append(VectorPoint(id=doc.id, vector=row, payload=payload.to_payload()))
    report.embedded += vectors.upsert(points)


def _refresh_sentiment(
    store: Store,
    vectors: VectorStore,
    docs: list[Document],
    existing: dict[str, dict[str, object]],
    model_version: str,
) -> int:
    """Put this model's score into payloads that lack it; returns how many changed."""
    changed = 0
    for doc in docs:
        payload = existing.get(doc.id)
        if payload is None or payload.get("sentiment_model") == model_version:
            continue
        score = store.scores.get(doc.id, model_version)
        if score is not None:
            vectors.set_payload(doc.id, sentiment_fields(score))
            changed += 1
    return changed
