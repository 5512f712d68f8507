"""Storage: SQLModel tables and the :class:`Store` that reads and writes records.

Default: a SQLite file in ``data_dir`` (embedded, zero set-up). With a URL: PostgreSQL. Every
write is idempotent and happens in one transaction per batch, so re-ingesting changes nothing
and a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, event, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from core.records import (
    Candle,
    Document,
    Frequency,
    IndexPoint,
    IngestWarning,
    Label,
    OnchainMetric,
    SentimentScore,
    SourceFamily,
)
from core.times import utcnow

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; records carry UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


# --- tables ---------------------------------------------------------------------------------


class DocumentRow(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_ingested_at", "ingested_at"),)

    id: str = Field(primary_key=True, max_length=36)
    source: str = Field(max_length=200)
    family: str = Field(max_length=16)
    source_id: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2000)
    title: str
    text: str
    author: str | None = Field(default=None, max_length=300)
    published_at: datetime = _ts(nullable=False)
    ingested_at: datetime = _ts(nullable=False)
    content_hash: str = Field(max_length=64, index=True)
    lang: str | None = Field(default=None, max_length=16)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DocumentSourceRow(SQLModel, table=True):
    """Every source a document arrived through (a syndicated story lists each feed once)."""

    __tablename__ = "document_sources"

    document_id: str = Field(primary_key=True, foreign_key="documents.id", max_length=36)
    source: str = Field(primary_key=True, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    seen_at: datetime = _ts(nullable=False)


class DocumentAssetRow(SQLModel, table=True):
    __tablename__ = "document_assets"
    __table_args__ = (Index("ix_document_assets_asset", "asset"),)

    document_id: str = Field(primary_key=True, foreign_key="documents.id", max_length=36)
    asset: str = Field(primary_key=True, max_length=12)


class SentimentScoreRow(SQLModel, table=True):
    __tablename__ = "sentiment_scores"
    __table_args__ = (Index("ix_sentiment_scores_version_scored_at", "model_version", "scored_at"),)

    document_id: str = Field(primary_key=True, foreign_key="documents.id", max_length=36)
    model_version: str = Field(primary_key=True, max_length=120)
    label: str = Field(max_length=8)
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    scored_at: datetime = _ts(nullable=False)


class SentimentCacheRow(SQLModel, table=True):
    """Probabilities per normalised text and model version, so identical text (a repost, a
    syndicated copy) is never run through the model twice, across runs."""

    __tablename__ = "sentiment_cache"

    text_hash: str = Field(primary_key=True, max_length=64)
    model_version: str = Field(primary_key=True, max_length=120)
    p_negative: float
    p_neutral: float
    p_positive: float
    created_at: datetime = _ts(nullable=False)


class IndexPointRow(SQLModel, table=True):
    __tablename__ = "index_points"
    __table_args__ = (Index("ix_index_points_version_freq_ts", "model_version", "freq", "ts"),)

    asset: str = Field(primary_key=True, max_length=12)
    family: str = Field(primary_key=True, max_length=16)
    freq: str = Field(primary_key=True, max_length=4)
    model_version: str = Field(primary_key=True, max_length=120)
    ts: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    asof: datetime = _ts(nullable=False)
    n_docs: int
    mean: float
    dispersion: float
    share_bullish: float
    share_bearish: float
    weighted_mean: float
    index: float
    zscore: float | None = None


class CandleRow(SQLModel, table=True):
    __tablename__ = "candles"

    exchange: str = Field(primary_key=True, max_length=40)
    pair: str = Field(primary_key=True, max_length=20)
    timeframe: str = Field(primary_key=True, max_length=8)
    ts: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    open: float
    high: float
    low: float
    close: float
    volume_base: float
    volume_quote: float | None = None
    ingested_at: datetime = _ts(nullable=False)


class OnchainRow(SQLModel, table=True):
    __tablename__ = "onchain_metrics"

    asset: str = Field(primary_key=True, max_length=12)
    metric: str = Field(primary_key=True, max_length=60)
    day: date = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=60)
    value: float
    ingested_at: datetime = _ts(nullable=False)


class SourceStateRow(SQLModel, table=True):
    """Per-source cursor and health: resumes after a crash, shown by ``cryptosense sources``."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=200)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_success_at: datetime | None = _ts(nullable=True)
    last_error_at: datetime | None = _ts(nullable=True)
    last_error: str | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = _ts(nullable=True)
    items_day: date | None = None
    items_today: int = 0


class IngestWarningRow(SQLModel, table=True):
    __tablename__ = "ingest_warnings"
    __table_args__ = (Index("ix_ingest_warnings_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    reason: str = Field(max_length=200)
    detail: str = ""
    at: datetime = _ts(nullable=False)


# Tables the later stages write (fusion signals, API subscriptions and briefings). Defined
# here so one schema serves every stage.


class SignalRow(SQLModel, table=True):
    __tablename__ = "signals"

    asset: str = Field(primary_key=True, max_length=12)
    ts: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    horizon: str = Field(primary_key=True, max_length=8)
    model_version: str = Field(primary_key=True, max_length=120)
    prob_up: float
    action: str = Field(max_length=16)
    features_asof: datetime = _ts(nullable=False)


class SubscriptionRow(SQLModel, table=True):
    __tablename__ = "subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(max_length=12)
    freq: str = Field(max_length=4)
    webhook_url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    created_at: datetime = _ts(nullable=False)
    active: bool = True


class BriefingRow(SQLModel, table=True):
    __tablename__ = "briefings"

    day: date = Field(primary_key=True)
    created_at: datetime = _ts(nullable=False)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- the store ------------------------------------------------------------------------------


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
class ScoredDoc:
    """What the index builder reads: one scored document mentioning an asset."""

    document_id: str
    asset: str
    family: str
    ingested_at: datetime
    score: float
    label: str
    engagement: float


@dataclass(frozen=True)
class CitedDocument:
    """A scored document with every source it came through: what the API lists and the
    agent cites."""

    document: Document
    score: SentimentScore
    sources: tuple[str, ...]


class Store:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(
                parents=True, exist_ok=True
            )
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        store = cls(settings.database_url, echo=settings.db.echo)
        store.create_all()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        SQLModel.metadata.drop_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def _insert(self, table: type[SQLModel]) -> Any:
        mod = postgresql if self.dialect == "postgresql" else sqlite
        return mod.insert(table)

    # documents --------------------------------------------------------------------------

    def add_documents(self, docs: Iterable[Document]) -> IngestResult:
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
        with self.session() as s, s.begin():
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
                    doc_rows.append(_doc_row(d))
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
                s.execute(self._insert(DocumentRow).on_conflict_do_nothing(), doc_rows)
            if asset_rows:
                s.execute(self._insert(DocumentAssetRow).on_conflict_do_nothing(), asset_rows)
            s.execute(self._insert(DocumentSourceRow).on_conflict_do_nothing(), source_rows)
        return IngestResult(new=new, duplicates=dup, merged=merged)

    def get_document(self, doc_id: str) -> Document | None:
        with self.session() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                return None
            assets = s.exec(
                select(DocumentAssetRow.asset).where(DocumentAssetRow.document_id == doc_id)
            ).all()
            return _row_doc(row, tuple(sorted(assets)))

    def document_sources(self, doc_id: str) -> list[str]:
        with self.session() as s:
            return sorted(
                s.exec(
                    select(DocumentSourceRow.source).where(DocumentSourceRow.document_id == doc_id)
                ).all()
            )

    def count_documents(self) -> int:
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(DocumentRow)).one())

    def documents_to_score(self, model_version: str, limit: int = 1000) -> list[Document]:
        """Documents that have no score from this model version yet, oldest first."""
        with self.session() as s:
            scored = select(SentimentScoreRow.document_id).where(
                SentimentScoreRow.model_version == model_version
            )
            rows = s.exec(
                select(DocumentRow)
                .where(col(DocumentRow.id).not_in(scored))
                .order_by(col(DocumentRow.ingested_at), col(DocumentRow.id))
                .limit(limit)
            ).all()
            return [_row_doc(r, ()) for r in rows]

    def documents_page(
        self, after: tuple[datetime, str] | None = None, limit: int = 500
    ) -> list[Document]:
        """Documents with their assets, oldest first by ``(ingested_at, id)``, strictly after
        the key ``after``: keyset paging, so walking a large store costs one indexed query
        per page and documents added meanwhile are not skipped."""
        with self.session() as s:
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
            assets: dict[str, list[str]] = {r.id: [] for r in rows}
            if rows:
                for doc_id, asset in s.exec(
                    select(DocumentAssetRow.document_id, DocumentAssetRow.asset).where(
                        col(DocumentAssetRow.document_id).in_(list(assets))
                    )
                ).all():
                    assets[doc_id].append(asset)
            return [_row_doc(r, tuple(sorted(assets[r.id]))) for r in rows]

    # scores -----------------------------------------------------------------------------

    def add_scores(self, scores: Sequence[SentimentScore]) -> int:
        if not scores:
            return 0
        rows = [
            {
                "document_id": sc.document_id,
                "model_version": sc.model_version,
                "label": sc.label.value,
                "p_negative": sc.p_negative,
                "p_neutral": sc.p_neutral,
                "p_positive": sc.p_positive,
                "score": sc.score,
                "scored_at": sc.scored_at,
            }
            for sc in scores
        ]
        with self.session() as s, s.begin():
            res = s.execute(self._insert(SentimentScoreRow).on_conflict_do_nothing(), rows)
        return int(getattr(res, "rowcount", len(rows)) or 0)

    def get_score(self, doc_id: str, model_version: str) -> SentimentScore | None:
        with self.session() as s:
            row = s.get(SentimentScoreRow, (doc_id, model_version))
            return None if row is None else _row_score(row)

    def cached_sentiment(
        self, model_version: str, text_hashes: Sequence[str]
    ) -> dict[str, tuple[float, float, float]]:
        """Cached (p_negative, p_neutral, p_positive) of the given text hashes for one model."""
        found: dict[str, tuple[float, float, float]] = {}
        unique = list(dict.fromkeys(text_hashes))
        with self.session() as s:
            for start in range(0, len(unique), 500):
                rows = s.exec(
                    select(SentimentCacheRow).where(
                        SentimentCacheRow.model_version == model_version,
                        col(SentimentCacheRow.text_hash).in_(unique[start : start + 500]),
                    )
                ).all()
                found.update({r.text_hash: (r.p_negative, r.p_neutral, r.p_positive) for r in rows})
        return found

    def add_cached_sentiment(
        self, model_version: str, entries: dict[str, tuple[float, float, float]]
    ) -> int:
        """Remember probabilities per text hash; an existing entry is kept as it is."""
        if not entries:
            return 0
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
        with self.session() as s, s.begin():
            s.execute(self._insert(SentimentCacheRow).on_conflict_do_nothing(), rows)
        return len(rows)

    def model_versions(self) -> list[str]:
        with self.session() as s:
            return list(s.exec(select(SentimentScoreRow.model_version).distinct()).all())

    def scored_documents(
        self,
        model_version: str,
        *,
        asset: str | None = None,
        start: datetime | None = None,
        asof: datetime | None = None,
    ) -> list[ScoredDoc]:
        """Scored documents per asset mention, with ``start <= ingested_at < asof``."""
        with self.session() as s:
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

    def assets(self) -> list[str]:
        with self.session() as s:
            return sorted(s.exec(select(DocumentAssetRow.asset).distinct()).all())

    # index ------------------------------------------------------------------------------

    def upsert_index_points(self, points: Sequence[IndexPoint]) -> int:
        if not points:
            return 0
        rows = [p.model_dump(mode="python") for p in points]
        for r in rows:
            r["freq"] = str(r["freq"].value if isinstance(r["freq"], Frequency) else r["freq"])
        keys = ["asset", "family", "freq", "model_version", "ts"]
        with self.session() as s, s.begin():
            stmt = self._insert(IndexPointRow)
            stmt = stmt.on_conflict_do_update(
                index_elements=keys,
                set_={c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys},
            )
            s.execute(stmt, rows)
        return len(rows)

    def index_points(
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
        with self.session() as s:
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

    # read models for the sentiment index and the HTTP API -------------------------------

    def latest_model_version(self) -> str | None:
        """The model version with the most recent score: what the API and ``index rebuild``
        use when none is named."""
        with self.session() as s:
            return s.exec(
                select(SentimentScoreRow.model_version)
                .order_by(
                    col(SentimentScoreRow.scored_at).desc(),
                    col(SentimentScoreRow.model_version).desc(),
                )
                .limit(1)
            ).first()

    def last_index_ts(self, model_version: str, freq: Frequency) -> datetime | None:
        """Start of the newest stored bucket of this model version and frequency (any asset):
        how far the incremental index update has got."""
        with self.session() as s:
            return s.exec(
                select(func.max(IndexPointRow.ts)).where(
                    IndexPointRow.model_version == model_version,
                    IndexPointRow.freq == freq.value,
                )
            ).one()

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
        with self.session() as s:
            # IN (subquery) lets SQLite scan the scores once instead of walking every document.
            return s.exec(
                select(func.min(DocumentRow.ingested_at)).where(col(DocumentRow.id).in_(recent))
            ).one()

    def replace_index_points(self, model_version: str, points: Sequence[IndexPoint]) -> int:
        """Replace every stored point of one model version in one transaction, so readers see
        the old index or the rebuilt one, never a half-written mix."""
        rows = [p.model_dump(mode="python") for p in points]
        for r in rows:
            r["freq"] = str(r["freq"].value if isinstance(r["freq"], Frequency) else r["freq"])
        with self.session() as s, s.begin():
            s.execute(
                IndexPointRow.__table__.delete().where(  # type: ignore[attr-defined]
                    IndexPointRow.__table__.c.model_version == model_version  # type: ignore[attr-defined]
                )
            )
            if rows:
                s.execute(IndexPointRow.__table__.insert(), rows)  # type: ignore[attr-defined]
        return len(rows)

    def index_points_window(
        self, model_version: str, freq: Frequency, *, start: datetime, end: datetime
    ) -> list[IndexPoint]:
        """Stored points of every asset and family with ``start <= ts < end``: the warm-up
        an incremental index update smooths from instead of re-reading raw scores."""
        with self.session() as s:
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

    def asset_counts(self, asset: str | None = None) -> dict[str, int]:
        """Documents per mentioned asset (one asset when given), for ``/v1/assets`` and the
        API's unknown-asset check."""
        with self.session() as s:
            q = sa_select(col(DocumentAssetRow.asset), func.count()).group_by(
                col(DocumentAssetRow.asset)
            )
            if asset is not None:
                q = q.where(col(DocumentAssetRow.asset) == asset)
            rows = s.execute(q.order_by(col(DocumentAssetRow.asset))).all()
            return {a: int(n) for a, n in rows}

    def counts(self) -> dict[str, int]:
        """Row counts of documents, scores and index points: what ``/healthz`` reports."""
        with self.session() as s:
            return {
                name: int(s.exec(select(func.count()).select_from(table)).one())
                for name, table in (
                    ("documents", DocumentRow),
                    ("scores", SentimentScoreRow),
                    ("index_points", IndexPointRow),
                )
            }

    def recent_scored_documents(
        self,
        model_version: str,
        *,
        asset: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[CitedDocument]:
        """Newest scored documents first (by ``ingested_at``), with every source each came
        through: what the API lists and the agent cites."""
        with self.session() as s:
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
            q = q.order_by(col(DocumentRow.ingested_at).desc(), col(DocumentRow.id)).limit(limit)
            pairs = s.exec(q).all()
            ids = [d.id for d, _ in pairs]
            assets: dict[str, list[str]] = {i: [] for i in ids}
            sources: dict[str, list[str]] = {i: [] for i in ids}
            if ids:
                for doc_id, a in s.exec(
                    select(DocumentAssetRow.document_id, DocumentAssetRow.asset).where(
                        col(DocumentAssetRow.document_id).in_(ids)
                    )
                ).all():
                    assets[doc_id].append(a)
                for doc_id, src in s.exec(
                    select(DocumentSourceRow.document_id, DocumentSourceRow.source).where(
                        col(DocumentSourceRow.document_id).in_(ids)
                    )
                ).all():
                    sources[doc_id].append(src)
            return [
                CitedDocument(
                    document=_row_doc(d, tuple(sorted(assets[d.id]))),
                    score=_row_score(sc),
                    sources=tuple(sorted(sources[d.id])),
                )
                for d, sc in pairs
            ]

    # market data ------------------------------------------------------------------------

    def add_candles(self, candles: Sequence[Candle]) -> int:
        if not candles:
            return 0
        rows = [c.model_dump() for c in candles]
        with self.session() as s, s.begin():
            res = s.execute(self._insert(CandleRow).on_conflict_do_nothing(), rows)
        return int(getattr(res, "rowcount", len(rows)) or 0)

    def last_candle_ts(self, exchange: str, pair: str, timeframe: str) -> datetime | None:
        with self.session() as s:
            return s.exec(
                select(func.max(CandleRow.ts)).where(
                    CandleRow.exchange == exchange,
                    CandleRow.pair == pair,
                    CandleRow.timeframe == timeframe,
                )
            ).one()

    def candles(self, exchange: str, pair: str, timeframe: str) -> list[Candle]:
        with self.session() as s:
            rows = s.exec(
                select(CandleRow)
                .where(
                    CandleRow.exchange == exchange,
                    CandleRow.pair == pair,
                    CandleRow.timeframe == timeframe,
                )
                .order_by(col(CandleRow.ts))
            ).all()
            return [Candle.model_validate(r.model_dump()) for r in rows]

    def count_candles(self, exchange: str, pair: str, timeframe: str) -> int:
        """Stored candles of one series (importers report new rows as a before/after count)."""
        with self.session() as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(CandleRow)
                    .where(
                        CandleRow.exchange == exchange,
                        CandleRow.pair == pair,
                        CandleRow.timeframe == timeframe,
                    )
                ).one()
            )

    def count_onchain(self, asset: str, source: str) -> int:
        """Stored on-chain values of one asset from one source."""
        with self.session() as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(OnchainRow)
                    .where(OnchainRow.asset == asset, OnchainRow.source == source)
                ).one()
            )

    def add_onchain(self, metrics: Sequence[OnchainMetric]) -> int:
        if not metrics:
            return 0
        rows = [m.model_dump() for m in metrics]
        with self.session() as s, s.begin():
            res = s.execute(self._insert(OnchainRow).on_conflict_do_nothing(), rows)
        return int(getattr(res, "rowcount", len(rows)) or 0)

    def last_onchain_day(self, asset: str, source: str) -> date | None:
        with self.session() as s:
            return s.exec(
                select(func.max(OnchainRow.day)).where(
                    OnchainRow.asset == asset, OnchainRow.source == source
                )
            ).one()

    # warnings and source state ----------------------------------------------------------

    def add_warnings(self, warnings: Iterable[IngestWarning]) -> int:
        rows = [w.model_dump() for w in warnings]
        if not rows:
            return 0
        with self.session() as s, s.begin():
            s.execute(IngestWarningRow.__table__.insert(), rows)  # type: ignore[attr-defined]
        return len(rows)

    def warnings(self, source: str | None = None, limit: int = 100) -> list[IngestWarning]:
        with self.session() as s:
            q = select(IngestWarningRow)
            if source is not None:
                q = q.where(IngestWarningRow.source == source)
            rows = s.exec(q.order_by(col(IngestWarningRow.id).desc()).limit(limit)).all()
            return [
                IngestWarning(source=r.source, reason=r.reason, detail=r.detail, at=r.at)
                for r in rows
            ]

    def source_state(self, name: str) -> SourceStateRow:
        with self.session() as s:
            row = s.get(SourceStateRow, name)
            return row if row is not None else SourceStateRow(name=name)

    def source_states(self) -> list[SourceStateRow]:
        with self.session() as s:
            return list(s.exec(select(SourceStateRow).order_by(col(SourceStateRow.name))).all())

    def save_source_state(self, state: SourceStateRow) -> None:
        with self.session() as s, s.begin():
            s.merge(state)

    def record_source_result(
        self,
        name: str,
        *,
        ok: bool,
        items: int = 0,
        error: str | None = None,
        cursor: dict[str, Any] | None = None,
        circuit_open_until: datetime | None = None,
    ) -> SourceStateRow:
        """Update a source's health after one poll."""
        now = utcnow()
        state = self.source_state(name)
        today = now.date()
        if state.items_day != today:
            state.items_day, state.items_today = today, 0
        state.items_today += items
        if cursor is not None:
            state.cursor = json.loads(json.dumps(cursor, default=str))
        if ok:
            state.last_success_at = now
            state.consecutive_failures = 0
            state.circuit_open_until = None
        else:
            state.last_error_at = now
            state.last_error = (error or "unknown error")[:2000]
            state.consecutive_failures += 1
            state.circuit_open_until = circuit_open_until
        self.save_source_state(state)
        return state


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _hash_is_meaningful(doc: Document) -> bool:
    """Content-hash merging needs enough text that two different stories cannot collide."""
    return len(doc.title) + len(doc.text) >= 40


def _doc_row(d: Document) -> dict[str, Any]:
    meta = dict(d.metadata)
    if d.warnings:
        meta["warnings"] = list(d.warnings)
    return {
        "id": d.id,
        "source": d.source,
        "family": d.family.value,
        "source_id": d.source_id,
        "url": d.url,
        "title": d.title,
        "text": d.text,
        "author": d.author,
        "published_at": d.published_at,
        "ingested_at": d.ingested_at,
        "content_hash": d.content_hash,
        "lang": d.lang,
        "meta": json.loads(json.dumps(meta, default=str)),
    }


def _row_score(row: SentimentScoreRow) -> SentimentScore:
    return SentimentScore(
        document_id=row.document_id,
        model_version=row.model_version,
        label=Label(row.label),
        p_negative=row.p_negative,
        p_neutral=row.p_neutral,
        p_positive=row.p_positive,
        scored_at=row.scored_at,
    )


def _row_doc(r: DocumentRow, assets: tuple[str, ...]) -> Document:
    meta = dict(r.meta or {})
    warnings = tuple(meta.pop("warnings", ()))
    return Document(
        id=r.id,
        source=r.source,
        family=SourceFamily(r.family),
        source_id=r.source_id,
        url=r.url,
        title=r.title,
        text=r.text,
        author=r.author,
        published_at=r.published_at,
        ingested_at=r.ingested_at,
        assets=assets,
        content_hash=r.content_hash,
        lang=r.lang,
        metadata=meta,
        warnings=warnings,
    )


def _engagement(meta: dict[str, Any] | str | None) -> float:
    """Reddit score + comments, or 1 for a news item; weights the engagement mean."""
    data: dict[str, Any] = json.loads(meta) if isinstance(meta, str) else (meta or {})
    score = float(data.get("score", 0) or 0)
    comments = float(data.get("num_comments", 0) or 0)
    return max(1.0, 1.0 + max(score, 0.0) + 2.0 * comments)
