"""Documents, every source each arrived through, and the assets each mentions.

Writing is idempotent and merges by content: a known id only gains a source row, and a story
whose normalised text matches a stored one under another URL is stored once with both
sources. Reads: one document, keyset pages of all of them (what the vector indexer walks),
asset counts, and :meth:`DocumentRepository.cited`, the newest *scored* documents with their
sources, which joins the scores aggregate because that is what the API lists and the agent
cites. The queries the sentiment index reads (documents x assets x scores) live in
:mod:`core.store.index`; the scorer's queue (documents without a score) in
:mod:`core.store.scores`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.records import Document, SentimentScore
from core.store.engine import Database
from core.store.rows import document_row, to_document, to_score
from core.store.tables import (
    DocumentAssetRow,
    DocumentRow,
    DocumentSourceRow,
    SentimentScoreRow,
)


@dataclass(frozen=True)
class IngestResult:
    new: int = 0
    duplicates: int = 0
    merged: int = 0  # same story under another URL: stored once, source recorded

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.new + other.new, self.duplicates + other.duplicates, self.merged + other.merged
        )


@dataclass(frozen=True)
class CitedDocument:
    """A scored document with every source it came through: what the API lists and the
    agent cites."""

    document: Document
    score: SentimentScore
    sources: tuple[str, ...]


class DocumentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, docs: Iterable[Document]) -> IngestResult:
        """Store documents idempotently in one transaction.

        A document whose id (canonical URL) is known only gains a source row; one whose
        normalised content matches a stored document under another URL is merged into it
        (its source recorded) instead of being stored twice.
        """
        batch: dict[str, Document] = {}
        for d in docs:
            batch.setdefault(d.id, d)
        if not batch:
            return IngestResult()
        new = dup = merged = 0
        with self._db.session() as s, s.begin():
            ids = list(batch)
            known_ids = set(
                s.exec(select(DocumentRow.id).where(col(DocumentRow.id).in_(ids))).all()
            )
            hashes = {d.content_hash for d in batch.values() if d.id not in known_ids}
            by_hash: dict[str, str] = {}
            if hashes:
                for doc_id, h in s.exec(
                    select(DocumentRow.id, DocumentRow.content_hash).where(
                        col(DocumentRow.content_hash).in_(list(hashes))
                    )
                ).all():
                    by_hash.setdefault(h, doc_id)
            source_rows: list[dict[str, Any]] = []
            doc_rows: list[dict[str, Any]] = []
            asset_rows: list[dict[str, Any]] = []
            for d in batch.values():
                target = d.id
                if d.id in known_ids:
                    dup += 1
                elif d.content_hash in by_hash and _hash_is_meaningful(d):
                    target = by_hash[d.content_hash]
                    merged += 1
                else:
                    by_hash[d.content_hash] = d.id
                    new += 1
                    doc_rows.append(document_row(d))
                    asset_rows.extend({"document_id": d.id, "asset": a} for a in d.assets)
                source_rows.append(
                    {
                        "document_id": target,
                        "source": d.source,
                        "url": d.url,
                        "seen_at": d.ingested_at,
                    }
                )
            if doc_rows:
                s.execute(self._db.insert(DocumentRow).on_conflict_do_nothing(), doc_rows)
            if asset_rows:
                s.execute(self._db.insert(DocumentAssetRow).on_conflict_do_nothing(), asset_rows)
            s.execute(self._db.insert(DocumentSourceRow).on_conflict_do_nothing(), source_rows)
        return IngestResult(new=new, duplicates=dup, merged=merged)

    def get(self, doc_id: str) -> Document | None:
        with self._db.session() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                return None
            return to_document(row, assets_of(s, [doc_id])[doc_id])

    def sources(self, doc_id: str) -> list[str]:
        """Every source the document arrived through, sorted."""
        with self._db.session() as s:
            return list(_sources_of(s, [doc_id])[doc_id])

    def count(self) -> int:
        return self._db.count(DocumentRow)

    def page(self, after: tuple[datetime, str] | None = None, limit: int = 500) -> list[Document]:
        """Documents with their assets, oldest first by ``(ingested_at, id)``, strictly after
        the key ``after``: keyset paging, so walking a large store costs one indexed query
        per page and documents added meanwhile are not skipped."""
        with self._db.session() as s:
            q = select(DocumentRow)
            if after is not None:
                at, doc_id = after
                q = q.where(
                    (col(DocumentRow.ingested_at) > at)
                    | ((col(DocumentRow.ingested_at) == at) & (col(DocumentRow.id) > doc_id))
                )
            rows = s.exec(
                q.order_by(col(DocumentRow.ingested_at), col(DocumentRow.id)).limit(limit)
            ).all()
            assets = assets_of(s, [r.id for r in rows])
            return [to_document(r, assets[r.id]) for r in rows]

    def assets(self) -> list[str]:
        """Every asset some stored document mentions, sorted."""
        with self._db.session() as s:
            return sorted(s.exec(select(DocumentAssetRow.asset).distinct()).all())

    def asset_counts(self, asset: str | None = None) -> dict[str, int]:
        """Documents per mentioned asset (one asset when given), for ``/v1/assets`` and the
        API's unknown-asset check."""
        with self._db.session() as s:
            q = sa_select(col(DocumentAssetRow.asset), func.count()).group_by(
                col(DocumentAssetRow.asset)
            )
            if asset is not None:
                q = q.where(col(DocumentAssetRow.asset) == asset)
            rows = s.execute(q.order_by(col(DocumentAssetRow.asset))).all()
            return {a: int(n) for a, n in rows}

    def cited(
        self,
        model_version: str,
        *,
        asset: str | None = None,
        since: datetime | None = None,
        asof: datetime | None = None,
        limit: int = 50,
    ) -> list[CitedDocument]:
        """Newest scored documents first (by ``ingested_at``), with every source each came
        through: what the API lists and the agent cites. ``asof``: only documents ingested by
        then (``ingested_at <= asof``), what an answer about that moment may see."""
        with self._db.session() as s:
            q = (
                select(DocumentRow, SentimentScoreRow)
                .join(SentimentScoreRow, col(SentimentScoreRow.document_id) == col(DocumentRow.id))
                .where(SentimentScoreRow.model_version == model_version)
            )
            if asset is not None:
                mentions = select(DocumentAssetRow.document_id).where(
                    DocumentAssetRow.asset == asset
                )
                q = q.where(col(DocumentRow.id).in_(mentions))
            if since is not None:
                q = q.where(col(DocumentRow.ingested_at) >= since)
            if asof is not None:
                q = q.where(col(DocumentRow.ingested_at) <= asof)
            q = q.order_by(col(DocumentRow.ingested_at).desc(), col(DocumentRow.id)).limit(limit)
            pairs = s.exec(q).all()
            ids = [d.id for d, _ in pairs]
            assets, sources = assets_of(s, ids), _sources_of(s, ids)
            return [
                CitedDocument(
                    document=to_document(d, assets[d.id]),
                    score=to_score(sc),
                    sources=sources[d.id],
                )
                for d, sc in pairs
            ]


def assets_of(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The sorted assets each of ``ids`` mentions (an empty tuple for none)."""
    return _values_by_document(session, col(DocumentAssetRow.asset), ids)


def _sources_of(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return _values_by_document(session, col(DocumentSourceRow.source), ids)


def _values_by_document(
    session: Session, column: Any, ids: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """``column`` of a per-document child table (assets or sources), grouped by document."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        owner = column.table.c.document_id
        for doc_id, value in session.execute(
            sa_select(owner, column).where(owner.in_(list(found)))
        ).all():
            found[doc_id].append(value)
    return {i: tuple(sorted(values)) for i, values in found.items()}


def _hash_is_meaningful(doc: Document) -> bool:
    """Content-hash merging needs enough text that two different stories cannot collide."""
    return len(doc.title) + len(doc.text) >= 40
