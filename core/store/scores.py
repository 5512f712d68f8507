"""Sentiment scores per document and model version, the score cache, and model versions.

:class:`ScoreRepository` also answers the scorer's question "which documents has this model
not scored yet?" (:meth:`ScoreRepository.pending`), a read over documents, because it is the
scores that are missing. :class:`ScoreCache` remembers probabilities per normalised text so a
repost or a syndicated copy is never run through the model twice, across runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from core.records import Document, SentimentScore
from core.store.engine import Database
from core.store.rows import to_document, to_score
from core.store.tables import DocumentRow, SentimentCacheRow, SentimentScoreRow
from core.times import utcnow

#: Text hashes per ``IN (...)`` lookup, well under every driver's parameter limit.
_CACHE_CHUNK = 500


class ScoreRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, scores: Sequence[SentimentScore]) -> int:
        """Store scores; a document already scored by the same model version keeps its score."""
        rows = [{**sc.model_dump(), "label": sc.label.value, "score": sc.score} for sc in scores]
        return self._db.insert_ignore(SentimentScoreRow, rows)

    def get(self, doc_id: str, model_version: str) -> SentimentScore | None:
        with self._db.session() as s:
            row = s.get(SentimentScoreRow, (doc_id, model_version))
            return None if row is None else to_score(row)

    def count(self) -> int:
        return self._db.count(SentimentScoreRow)

    def pending(self, model_version: str, limit: int = 1000) -> list[Document]:
        """Documents that have no score from this model version yet, oldest first."""
        with self._db.session() as s:
            scored = select(SentimentScoreRow.document_id).where(
                SentimentScoreRow.model_version == model_version
            )
            rows = s.exec(
                select(DocumentRow)
                .where(col(DocumentRow.id).not_in(scored))
                .order_by(col(DocumentRow.ingested_at), col(DocumentRow.id))
                .limit(limit)
            ).all()
            return [to_document(r, ()) for r in rows]

    def versions(self) -> list[str]:
        """Every model version with stored scores."""
        with self._db.session() as s:
            return list(s.exec(select(SentimentScoreRow.model_version).distinct()).all())

    def latest_version(self) -> str | None:
        """The model version with the most recent score: what the API and ``index rebuild``
        use when none is named."""
        with self._db.session() as s:
            return s.exec(
                select(SentimentScoreRow.model_version)
                .order_by(
                    col(SentimentScoreRow.scored_at).desc(),
                    col(SentimentScoreRow.model_version).desc(),
                )
                .limit(1)
            ).first()


class ScoreCache:
    """(p_negative, p_neutral, p_positive) per normalised-text hash and model version."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def lookup(
        self, model_version: str, text_hashes: Sequence[str]
    ) -> dict[str, tuple[float, float, float]]:
        """Cached probabilities of the given text hashes for one model (missing: absent)."""
        found: dict[str, tuple[float, float, float]] = {}
        unique = list(dict.fromkeys(text_hashes))
        with self._db.session() as s:
            for start in range(0, len(unique), _CACHE_CHUNK):
                rows = s.exec(
                    select(SentimentCacheRow).where(
                        SentimentCacheRow.model_version == model_version,
                        col(SentimentCacheRow.text_hash).in_(unique[start : start + _CACHE_CHUNK]),
                    )
                ).all()
                found.update({r.text_hash: (r.p_negative, r.p_neutral, r.p_positive) for r in rows})
        return found

    def remember(self, model_version: str, entries: dict[str, tuple[float, float, float]]) -> int:
        """Remember probabilities per text hash; an existing entry is kept as it is."""
        now = utcnow()
        rows = [
            {
                "text_hash": h,
                "model_version": model_version,
                "p_negative": float(p[0]),
                "p_neutral": float(p[1]),
                "p_positive": float(p[2]),
                "created_at": now,
            }
            for h, p in entries.items()
        ]
        self._db.insert_ignore(SentimentCacheRow, rows)
        return len(rows)
