"""Every table of the store, in one place.

These SQLModel classes describe the schema the code expects; the migrations under
``migrations/versions`` are what builds it. The two must agree: ``tests/core/test_migrations``
compares them, so a column added here without a revision fails the suite. See docs/store.md
for how a later stage adds a table.

Rows stay inside the store package; repositories hand out the frozen records of
:mod:`core.records` (the one exception, :class:`SourceStateRow`, is what ``cryptosense
sources`` and ``/v1/sources`` show as it is).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKeyConstraint, Index, MetaData
from sqlmodel import Field, SQLModel

from core.store.types import utc_field


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
    published_at: datetime = utc_field(nullable=False)
    ingested_at: datetime = utc_field(nullable=False)
    content_hash: str = Field(max_length=64, index=True)
    lang: str | None = Field(default=None, max_length=16)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DocumentSourceRow(SQLModel, table=True):
    """Every source a document arrived through (a syndicated story lists each feed once)."""

    __tablename__ = "document_sources"

    document_id: str = Field(primary_key=True, foreign_key="documents.id", max_length=36)
    source: str = Field(primary_key=True, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    seen_at: datetime = utc_field(nullable=False)


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
    scored_at: datetime = utc_field(nullable=False)


class SentimentCacheRow(SQLModel, table=True):
    """Probabilities per normalised text and model version, so identical text (a repost, a
    syndicated copy) is never run through the model twice, across runs."""

    __tablename__ = "sentiment_cache"

    text_hash: str = Field(primary_key=True, max_length=64)
    model_version: str = Field(primary_key=True, max_length=120)
    p_negative: float
    p_neutral: float
    p_positive: float
    created_at: datetime = utc_field(nullable=False)


class IndexPointRow(SQLModel, table=True):
    __tablename__ = "index_points"
    __table_args__ = (Index("ix_index_points_version_freq_ts", "model_version", "freq", "ts"),)

    asset: str = Field(primary_key=True, max_length=12)
    family: str = Field(primary_key=True, max_length=16)
    freq: str = Field(primary_key=True, max_length=4)
    model_version: str = Field(primary_key=True, max_length=120)
    ts: datetime = utc_field(primary_key=True)
    asof: datetime = utc_field(nullable=False)
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
    ts: datetime = utc_field(primary_key=True)
    open: float
    high: float
    low: float
    close: float
    volume_base: float
    volume_quote: float | None = None
    ingested_at: datetime = utc_field(nullable=False)


class OnchainRow(SQLModel, table=True):
    __tablename__ = "onchain_metrics"

    asset: str = Field(primary_key=True, max_length=12)
    metric: str = Field(primary_key=True, max_length=60)
    day: date = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=60)
    value: float
    ingested_at: datetime = utc_field(nullable=False)


class SourceStateRow(SQLModel, table=True):
    """Per-source cursor and health: resumes after a crash, shown by ``cryptosense sources``."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=200)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_success_at: datetime | None = utc_field(nullable=True)
    last_error_at: datetime | None = utc_field(nullable=True)
    last_error: str | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = utc_field(nullable=True)
    items_day: date | None = None
    items_today: int = 0


class IngestWarningRow(SQLModel, table=True):
    __tablename__ = "ingest_warnings"
    __table_args__ = (Index("ix_ingest_warnings_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    reason: str = Field(max_length=200)
    detail: str = ""
    at: datetime = utc_field(nullable=False)


class SignalRow(SQLModel, table=True):
    """A live fusion signal, one per asset, timeframe, horizon and decision time: the first
    one made for a bar stands (a published signal never changes after the fact)."""

    __tablename__ = "fusion_signals"
    __table_args__ = (Index("ix_fusion_signals_asof", "asof"),)

    asset: str = Field(primary_key=True, max_length=12)
    timeframe: str = Field(primary_key=True, max_length=8)
    horizon: str = Field(primary_key=True, max_length=8)
    ts: datetime = utc_field(primary_key=True)
    asof: datetime = utc_field(nullable=False)
    model_version: str | None = Field(default=None, max_length=64)
    prob_up: float | None = None
    action: str = Field(max_length=16)
    position: float
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contributions: dict[str, float] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    data_age_bars: float | None = None
    features_asof: datetime = utc_field(nullable=False)


class SignalOutcomeRow(SQLModel, table=True):
    """The forward ledger: a signal joined with what happened at its horizon, written once."""

    __tablename__ = "fusion_ledger"
    __table_args__ = (
        ForeignKeyConstraint(
            ["asset", "timeframe", "horizon", "ts"],
            [f"fusion_signals.{c}" for c in ("asset", "timeframe", "horizon", "ts")],
        ),
    )

    asset: str = Field(primary_key=True, max_length=12)
    timeframe: str = Field(primary_key=True, max_length=8)
    horizon: str = Field(primary_key=True, max_length=8)
    ts: datetime = utc_field(primary_key=True)
    position: float
    fill_price: float
    exit_price: float
    realised_return: float
    net_return: float
    hit: float | None = None
    resolved_at: datetime = utc_field(nullable=False)


class StudyRunRow(SQLModel, table=True):
    """A recorded walk-forward study and its report card (the JSON text as written)."""

    __tablename__ = "fusion_runs"
    __table_args__ = (Index("ix_fusion_runs_asset_timeframe", "asset", "timeframe"),)

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(max_length=12)
    timeframe: str = Field(max_length=8)
    created_at: datetime = utc_field(nullable=False)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_sha256: str = Field(max_length=64)
    code: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    seed: int
    data_first: datetime | None = utc_field(nullable=True)
    data_last: datetime | None = utc_field(nullable=True)
    chosen: str = Field(max_length=40)
    gate_passed: bool
    verdict: str
    card_sha256: str = Field(max_length=64)
    card_json: str
    json_path: str | None = None
    html_path: str | None = None


class FusionModelRow(SQLModel, table=True):
    """The live model registry: the newest entry of an asset and timeframe signals."""

    __tablename__ = "fusion_models"
    __table_args__ = (Index("ix_fusion_models_asset_timeframe", "asset", "timeframe"),)

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(max_length=12)
    timeframe: str = Field(max_length=8)
    horizon: str = Field(max_length=8)
    version: str = Field(max_length=64)
    created_at: datetime = utc_field(nullable=False)
    promoted: bool
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    run_id: int | None = Field(default=None, foreign_key="fusion_runs.id")
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    train_first: datetime | None = utc_field(nullable=True)
    train_last: datetime | None = utc_field(nullable=True)
    sentiment_version: str | None = Field(default=None, max_length=120)
    model_json: str


class ApiKeyRow(SQLModel, table=True):
    """An API key: only the SHA-256 of the secret is kept; ``id`` is the key's visible prefix
    (``cs_<id>_...``), so a key can be named in logs and revoked without being known."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(default="", max_length=200)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(nullable=False)
    revoked_at: datetime | None = utc_field(nullable=True)


class EventRow(SQLModel, table=True):
    """The durable event log subscribers resume from: index updates and signals, in the
    order they were published (``id`` is the cursor)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_topic_asset_id", "topic", "asset", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=16)
    asset: str = Field(max_length=12)
    at: datetime = utc_field(nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WebhookRow(SQLModel, table=True):
    """A registered webhook: where to deliver, for which assets and conditions, signed with
    its own secret."""

    __tablename__ = "webhooks"

    id: str = Field(primary_key=True, max_length=40)
    key_id: str = Field(max_length=16)
    url: str = Field(max_length=2000)
    assets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    conditions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    secret: str = Field(max_length=100)
    created_at: datetime = utc_field(nullable=False)
    disabled_at: datetime | None = utc_field(nullable=True)


class WebhookDeliveryRow(SQLModel, table=True):
    """One delivery of one event to one webhook, and how its attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    webhook_id: str = Field(foreign_key="webhooks.id", max_length=40)
    event_id: int
    body: str
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime = utc_field(nullable=False)
    delivered_at: datetime | None = utc_field(nullable=True)


#: The schema these classes describe: what the migrations must build (alembic compares them).
metadata: MetaData = SQLModel.metadata


class ConversationRow(SQLModel, table=True):
    """An agent conversation: its turns follow in :class:`TurnRow`."""

    __tablename__ = "agent_conversations"

    id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = utc_field(nullable=False)
    updated_at: datetime = utc_field(nullable=False)


class TurnRow(SQLModel, table=True):
    """One turn of a conversation: the user's question or the agent's answer (as JSON)."""

    __tablename__ = "agent_turns"
    __table_args__ = (ForeignKeyConstraint(["conversation_id"], ["agent_conversations.id"]),)

    conversation_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    role: str = Field(max_length=16)
    content: str
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = utc_field(nullable=False)


class BriefingRow(SQLModel, table=True):
    """The daily briefing of one day (the newest made replaces an older one)."""

    __tablename__ = "agent_briefings"

    day: date = Field(primary_key=True)
    asof: datetime = utc_field(nullable=False)
    seed: int
    sha256: str = Field(max_length=64)
    markdown: str
    html: str
    created_at: datetime = utc_field(nullable=False)
