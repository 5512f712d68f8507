"""The API's tables: hashed API keys, the durable event log subscribers resume from,
registered webhooks and their delivery log.

New tables only; nothing existing changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: What this revision creates, in the order it creates them (referenced tables first).
TABLES = ("api_keys", "events", "webhooks", "webhook_deliveries")


def _utc(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int | None = None, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        _str("id", 16),
        _str("name", 200),
        _str("key_hash", 64),
        _json("scopes"),
        _utc("created_at"),
        _utc("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("topic", 16),
        _str("asset", 12),
        _utc("at"),
        _json("payload"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_topic_asset_id", "events", ["topic", "asset", "id"], unique=False)
    op.create_table(
        "webhooks",
        _str("id", 40),
        _str("key_id", 16),
        _str("url", 2000),
        _json("assets"),
        _json("conditions"),
        _str("secret", 100),
        _utc("created_at"),
        _utc("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_deliveries",
        _str("id", 40),
        _str("webhook_id", 40),
        sa.Column("event_id", sa.Integer(), nullable=False),
        _str("body"),
        _str("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("next_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        _str("last_error", nullable=True),
        _utc("created_at"),
        _utc("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id"], unique=False
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
