"""The sentiment index: stored index points, and the reads the index builder makes.

Points are keyed by asset, family, frequency, model version and bucket start; a rebuild
replaces every point of one model version in one transaction. The builder's inputs join
documents, their asset mentions and scores (:meth:`IndexRepository.scored_documents`,
:meth:`IndexRepository.earliest_ingested_scored_since`); they live here rather than beside
documents or scores because the index is the only reader and a change to one always goes
with a change to the builder in :mod:`nlp.index`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from core.records import Frequency, IndexPoint
from core.store.engine import Database
from core.store.tables import DocumentAssetRow, DocumentRow, IndexPointRow, SentimentScoreRow

_KEY = ("asset", "family", "freq", "model_version", "ts")


@dataclass(frozen=True)
class ScoredDoc:
    """What the index builder reads: one scored document mentioning an asset."""

    document_id: str
    asset: str
    family: str
    ingested_at: datetime
    score: float
    label: str
    engagement: float


class IndexRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, points: Sequence[IndexPoint]) -> int:
        """Store points, replacing any stored point with the same key."""
        rows = _rows(points)
        if not rows:
            return 0
        with self._db.session() as s, s.begin():
            stmt = self._db.insert(IndexPointRow)
            stmt = stmt.on_conflict_do_update(
                index_elements=list(_KEY),
                set_={c: getattr(stmt.excluded, c) for c in rows[0] if c not in _KEY},
            )
            s.execute(stmt, rows)
        return len(rows)

    def replace(self, model_version: str, points: Sequence[IndexPoint]) -> int:
        """Replace every stored point of one model version in one transaction, so readers see
        the old index or the rebuilt one, never a half-written mix."""
        rows = _rows(points)
        table = IndexPointRow.__table__  # type: ignore[attr-defined]
        with self._db.session() as s, s.begin():
            s.execute(table.delete().where(table.c.model_version == model_version))
            if rows:
                s.execute(table.insert(), rows)
        return len(rows)

    def points(
        self,
        asset: str,
        freq: Frequency,
        model_version: str,
        *,
        family: str = "all",
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[IndexPoint]:
        """Stored points with ``start <= ts < end``, oldest first; with ``limit``, the newest
        ``limit`` of them."""
        with self._db.session() as s:
            q = select(IndexPointRow).where(
                IndexPointRow.asset == asset,
                IndexPointRow.freq == freq.value,
                IndexPointRow.family == family,
                IndexPointRow.model_version == model_version,
            )
            if start is not None:
                q = q.where(col(IndexPointRow.ts) >= start)
            if end is not None:
                q = q.where(col(IndexPointRow.ts) < end)
            if limit is None:
                rows = list(s.exec(q.order_by(col(IndexPointRow.ts))).all())
            else:
                rows = list(s.exec(q.order_by(col(IndexPointRow.ts).desc()).limit(limit)).all())
                rows.reverse()
            return [IndexPoint.model_validate(r.model_dump()) for r in rows]

    def known_points(
        self,
        asset: str,
        model_version: str,
        *,
        freq: Frequency | None = None,
        asof: datetime | None = None,
    ) -> list[IndexPoint]:
        """Every family's points of one asset and model version that were known at ``asof``
        (``point.asof <= asof``; None: all), by frequency, family and bucket: what fusion
        reads as of a time."""
        with self._db.session() as s:
            q = select(IndexPointRow).where(
                IndexPointRow.asset == asset, IndexPointRow.model_version == model_version
            )
            if freq is not None:
                q = q.where(IndexPointRow.freq == freq.value)
            if asof is not None:
                q = q.where(col(IndexPointRow.asof) <= asof)
            rows = s.exec(
                q.order_by(
                    col(IndexPointRow.freq), col(IndexPointRow.family), col(IndexPointRow.ts)
                )
            ).all()
            return [IndexPoint.model_validate(r.model_dump()) for r in rows]

    def window(
        self, model_version: str, freq: Frequency, *, start: datetime, end: datetime
    ) -> list[IndexPoint]:
        """Stored points of every asset and family with ``start <= ts < end``: the warm-up
        an incremental index update smooths from instead of re-reading raw scores."""
        with self._db.session() as s:
            rows = s.exec(
                select(IndexPointRow)
                .where(
                    IndexPointRow.model_version == model_version,
                    IndexPointRow.freq == freq.value,
                    col(IndexPointRow.ts) >= start,
                    col(IndexPointRow.ts) < end,
                )
                .order_by(
                    col(IndexPointRow.asset), col(IndexPointRow.family), col(IndexPointRow.ts)
                )
            ).all()
            return [IndexPoint.model_validate(r.model_dump()) for r in rows]

    def last_ts(self, model_version: str, freq: Frequency) -> datetime | None:
        """Start of the newest stored bucket of this model version and frequency (any asset):
        how far the incremental index update has got."""
        result: datetime | None = self._db.one(
            sa_select(func.max(IndexPointRow.ts)).where(
                col(IndexPointRow.model_version) == model_version,
                col(IndexPointRow.freq) == freq.value,
            )
        )
        return result

    def count(self) -> int:
        return self._db.count(IndexPointRow)

    def scored_documents(
        self,
        model_version: str,
        *,
        asset: str | None = None,
        start: datetime | None = None,
        asof: datetime | None = None,
    ) -> list[ScoredDoc]:
        """Scored documents per asset mention, with ``start <= ingested_at < asof``."""
        with self._db.session() as s:
            columns: list[Any] = [
                DocumentRow.id,
                DocumentAssetRow.asset,
                DocumentRow.family,
                DocumentRow.ingested_at,
                SentimentScoreRow.score,
                SentimentScoreRow.label,
                DocumentRow.meta,
            ]
            q = (
                sa_select(*columns)
                .join(DocumentAssetRow, col(DocumentAssetRow.document_id) == col(DocumentRow.id))
                .join(SentimentScoreRow, col(SentimentScoreRow.document_id) == col(DocumentRow.id))
                .where(col(SentimentScoreRow.model_version) == model_version)
            )
            if asset is not None:
                q = q.where(col(DocumentAssetRow.asset) == asset)
            if start is not None:
                q = q.where(col(DocumentRow.ingested_at) >= start)
            if asof is not None:
                q = q.where(col(DocumentRow.ingested_at) < asof)
            q = q.order_by(col(DocumentRow.ingested_at), col(DocumentRow.id))
            return [
                ScoredDoc(
                    document_id=r[0],
                    asset=r[1],
                    family=r[2],
                    ingested_at=r[3] if r[3].tzinfo else r[3].replace(tzinfo=UTC),
                    score=float(r[4]),
                    label=r[5],
                    engagement=_engagement(r[6]),
                )
                for r in s.execute(q).all()
            ]

    def earliest_ingested_scored_since(
        self, model_version: str, since: datetime
    ) -> datetime | None:
        """Oldest ``ingested_at`` among documents scored at or after ``since``.

        Scores can arrive after their bucket closed (a lagging scorer, a backfill with old
        ingestion times); the incremental index update restarts from here so none is missed.
        """
        recent = select(SentimentScoreRow.document_id).where(
            SentimentScoreRow.model_version == model_version,
            col(SentimentScoreRow.scored_at) >= since,
        )
        # IN (subquery) lets SQLite scan the scores once instead of walking every document.
        result: datetime | None = self._db.one(
            sa_select(func.min(DocumentRow.ingested_at)).where(col(DocumentRow.id).in_(recent))
        )
        return result


def _rows(points: Sequence[IndexPoint]) -> list[dict[str, Any]]:
    rows = [p.model_dump(mode="python") for p in points]
    for r in rows:
        r["freq"] = str(r["freq"].value if isinstance(r["freq"], Frequency) else r["freq"])
    return rows


def _engagement(meta: dict[str, Any] | str | None) -> float:
    """Reddit score + comments, or 1 for a news item; weights the engagement mean."""
    data: dict[str, Any] = json.loads(meta) if isinstance(meta, str) else (meta or {})
    score = float(data.get("score", 0) or 0)
    comments = float(data.get("num_comments", 0) or 0)
    return max(1.0, 1.0 + max(score, 0.0) + 2.0 * comments)
