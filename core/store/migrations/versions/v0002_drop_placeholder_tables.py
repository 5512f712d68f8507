"""Drop the placeholder tables ``signals``, ``subscriptions`` and ``briefings``.

They were defined before the stages that need them and never written; fusion and the API
will add their own tables, shaped by their real use, in later revisions. A table that holds
rows anyway (written by hand or by another tool) is not dropped: the revision stops and says
so, and the database stays at 0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.store.errors import SchemaError
from core.store.migrations.versions.v0001_initial_schema import create_placeholder_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLACEHOLDERS = ("signals", "subscriptions", "briefings")


def upgrade() -> None:
    conn = op.get_bind()
    for table in PLACEHOLDERS:
        rows = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
        if rows:  # the tables dropped so far come back with the rolled-back transaction
            raise SchemaError(
                f"schema revision 0002 drops the unused table {table!r}, but it holds {rows} "
                "rows that cryptosense never wrote; copy them elsewhere and empty the table, "
                "then start again"
            )
        op.drop_table(table)


def downgrade() -> None:
    create_placeholder_tables()
