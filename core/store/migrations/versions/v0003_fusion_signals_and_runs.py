"""Fusion's tables: live signals, their outcomes (the forward ledger), recorded study runs
and the live model registry.

New tables only, all named ``fusion_*``; nothing existing changes. (The placeholder
``signals`` that 0002 dropped is not revived: its key could not tell timeframes apart and it
had no room for reasons, contributions or freshness.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: What this revision creates, in the order it creates them (referenced tables first).
TABLES = ("fusion_signals", "fusion_ledger", "fusion_runs", "fusion_models")


def _utc(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int | None = None, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _float(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _signal_key() -> list[sa.Column[Any]]:
    return [_str("asset", 12), _str("timeframe", 8), _str("horizon", 8), _utc("ts")]


def upgrade() -> None:
    op.create_table(
        "fusion_signals",
        *_signal_key(),
        _utc("asof"),
        _str("model_version", 64, nullable=True),
        _float("prob_up", nullable=True),
        _str("action", 16),
        _float("position"),
        _json("reasons"),
        _json("contributions"),
        _float("data_age_bars", nullable=True),
        _utc("features_asof"),
        sa.PrimaryKeyConstraint("asset", "timeframe", "horizon", "ts"),
    )
    op.create_index("ix_fusion_signals_asof", "fusion_signals", ["asof"], unique=False)
    op.create_table(
        "fusion_ledger",
        *_signal_key(),
        _float("position"),
        _float("fill_price"),
        _float("exit_price"),
        _float("realised_return"),
        _float("net_return"),
        _float("hit", nullable=True),
        _utc("resolved_at"),
        sa.ForeignKeyConstraint(
            ["asset", "timeframe", "horizon", "ts"],
            [f"fusion_signals.{c}" for c in ("asset", "timeframe", "horizon", "ts")],
        ),
        sa.PrimaryKeyConstraint("asset", "timeframe", "horizon", "ts"),
    )
    op.create_table(
        "fusion_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("asset", 12),
        _str("timeframe", 8),
        _utc("created_at"),
        _json("config"),
        _json("data"),
        _str("content_sha256", 64),
        _json("code"),
        sa.Column("seed", sa.Integer(), nullable=False),
        _utc("data_first", nullable=True),
        _utc("data_last", nullable=True),
        _str("chosen", 40),
        sa.Column("gate_passed", sa.Boolean(), nullable=False),
        _str("verdict"),
        _str("card_sha256", 64),
        _str("card_json"),
        _str("json_path", nullable=True),
        _str("html_path", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_fusion_runs_asset_timeframe", "fusion_runs", ["asset", "timeframe"], unique=False
    )
    op.create_table(
        "fusion_models",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("asset", 12),
        _str("timeframe", 8),
        _str("horizon", 8),
        _str("version", 64),
        _utc("created_at"),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        _json("reasons"),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _json("groups"),
        _utc("train_first", nullable=True),
        _utc("train_last", nullable=True),
        _str("sentiment_version", 120, nullable=True),
        _str("model_json"),
        sa.ForeignKeyConstraint(["run_id"], ["fusion_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_fusion_models_asset_timeframe", "fusion_models", ["asset", "timeframe"], unique=False
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
