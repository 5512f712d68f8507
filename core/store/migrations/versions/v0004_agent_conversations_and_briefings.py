"""The agent's tables: conversations and their turns, and daily briefings.

New tables only, all named ``agent_*``; nothing existing changes. (The placeholder
``briefings`` that 0002 dropped is not revived: it had no room for the as-of time, the seed
or the rendered documents.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: What this revision creates, in the order it creates them (referenced tables first).
TABLES = ("agent_conversations", "agent_turns", "agent_briefings")


def _utc(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "agent_conversations",
        sa.Column("id", sa.String(64), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "agent_turns",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.String(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        _utc("created_at"),
        sa.ForeignKeyConstraint(["conversation_id"], ["agent_conversations.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "seq"),
    )
    op.create_table(
        "agent_briefings",
        sa.Column("day", sa.Date(), nullable=False),
        _utc("asof"),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("markdown", sa.String(), nullable=False),
        sa.Column("html", sa.String(), nullable=False),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
