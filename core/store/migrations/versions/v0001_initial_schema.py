"""The schema as ``create_all`` built it before migrations existed (issue 9).

Written out table by table so it never changes when the models in ``core/store/tables.py``
do. Every table and index is created only if absent: a database made by ``create_all`` before
some table existed (``sentiment_cache`` came later than the rest) is completed by running
this revision, and one that is complete is simply stamped (see ``core.store.migrate``).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: What this revision creates (children after ``documents``, which they reference).
TABLES = (
    "documents",
    "document_sources",
    "document_assets",
    "sentiment_scores",
    "sentiment_cache",
    "index_points",
    "candles",
    "onchain_metrics",
    "source_state",
    "ingest_warnings",
    "signals",
    "subscriptions",
    "briefings",
)


def _utc(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int | None = None, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _float(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _floats(*names: str) -> list[sa.Column[Any]]:
    return [_float(name) for name in names]


def _table(name: str, *parts: Any) -> None:
    """Create a table unless it exists (see the module docstring for why)."""
    op.create_table(name, *parts, if_not_exists=True)


def _document_child(name: str, *parts: Any) -> None:
    """A table keyed by (document_id, ...) that references ``documents``."""
    _table(
        name,
        _str("document_id", 36),
        *parts,
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
    )


def _index(name: str, table: str, columns: list[str]) -> None:
    op.create_index(name, table, columns, unique=False, if_not_exists=True)


def upgrade() -> None:
    _table(
        "documents",
        _str("id", 36),
        _str("source", 200),
        _str("family", 16),
        _str("source_id", 300, nullable=True),
        _str("url", 2000, nullable=True),
        _str("title"),
        _str("text"),
        _str("author", 300, nullable=True),
        _utc("published_at"),
        _utc("ingested_at"),
        _str("content_hash", 64),
        _str("lang", 16, nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_documents_ingested_at", "documents", ["ingested_at"])
    _index("ix_documents_content_hash", "documents", ["content_hash"])
    _document_child(
        "document_sources",
        _str("source", 200),
        _str("url", 2000, nullable=True),
        _utc("seen_at"),
        sa.PrimaryKeyConstraint("document_id", "source"),
    )
    _document_child(
        "document_assets",
        _str("asset", 12),
        sa.PrimaryKeyConstraint("document_id", "asset"),
    )
    _index("ix_document_assets_asset", "document_assets", ["asset"])
    _document_child(
        "sentiment_scores",
        _str("model_version", 120),
        _str("label", 8),
        *_floats("p_negative", "p_neutral", "p_positive", "score"),
        _utc("scored_at"),
        sa.PrimaryKeyConstraint("document_id", "model_version"),
    )
    _index(
        "ix_sentiment_scores_version_scored_at", "sentiment_scores", ["model_version", "scored_at"]
    )
    _table(
        "sentiment_cache",
        _str("text_hash", 64),
        _str("model_version", 120),
        *_floats("p_negative", "p_neutral", "p_positive"),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("text_hash", "model_version"),
    )
    _table(
        "index_points",
        _str("asset", 12),
        _str("family", 16),
        _str("freq", 4),
        _str("model_version", 120),
        _utc("ts"),
        _utc("asof"),
        sa.Column("n_docs", sa.Integer(), nullable=False),
        *_floats("mean", "dispersion", "share_bullish", "share_bearish", "weighted_mean", "index"),
        _float("zscore", nullable=True),
        sa.PrimaryKeyConstraint("asset", "family", "freq", "model_version", "ts"),
    )
    _index("ix_index_points_version_freq_ts", "index_points", ["model_version", "freq", "ts"])
    _table(
        "candles",
        _str("exchange", 40),
        _str("pair", 20),
        _str("timeframe", 8),
        _utc("ts"),
        *_floats("open", "high", "low", "close", "volume_base"),
        _float("volume_quote", nullable=True),
        _utc("ingested_at"),
        sa.PrimaryKeyConstraint("exchange", "pair", "timeframe", "ts"),
    )
    _table(
        "onchain_metrics",
        _str("asset", 12),
        _str("metric", 60),
        sa.Column("day", sa.Date(), nullable=False),
        _str("source", 60),
        _float("value"),
        _utc("ingested_at"),
        sa.PrimaryKeyConstraint("asset", "metric", "day", "source"),
    )
    _table(
        "source_state",
        _str("name", 200),
        sa.Column("cursor", sa.JSON(), nullable=False),
        _utc("last_success_at", nullable=True),
        _utc("last_error_at", nullable=True),
        _str("last_error", nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        _utc("circuit_open_until", nullable=True),
        sa.Column("items_day", sa.Date(), nullable=True),
        sa.Column("items_today", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _table(
        "ingest_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("source", 200),
        _str("reason", 200),
        _str("detail"),
        _utc("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_ingest_warnings_at", "ingest_warnings", ["at"])
    create_placeholder_tables()


def create_placeholder_tables() -> None:
    """Tables reserved for later stages and never written; revision 0002 drops them (and its
    downgrade puts them back through this function)."""
    _table(
        "signals",
        _str("asset", 12),
        _utc("ts"),
        _str("horizon", 8),
        _str("model_version", 120),
        _float("prob_up"),
        _str("action", 16),
        _utc("features_asof"),
        sa.PrimaryKeyConstraint("asset", "ts", "horizon", "model_version"),
    )
    _table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("asset", 12),
        _str("freq", 4),
        _str("webhook_url", 2000),
        _str("secret", 200),
        _utc("created_at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _table(
        "briefings",
        sa.Column("day", sa.Date(), nullable=False),
        _utc("created_at"),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
