"""Alembic's environment: migrate the connection :mod:`core.store.migrate` hands over.

Online only, on that one connection (it holds the migration lock); each revision runs in
its own transaction, and SQLite revisions use batch mode so later ALTERs work there too.
A revision drafted with autogenerate (docs/store.md) spells the models' own column types in
plain SQLAlchemy, so it never imports the models it must outlive.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel.sql.sqltypes import AutoString

from core.store.tables import metadata
from core.store.types import UTCDateTime


def _render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String({obj.length or ''})"
    return False  # alembic's own rendering


config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through core.store.migrate (cryptosense db upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    transaction_per_migration=True,
    transactional_ddl=config.attributes.get("transactional_ddl"),
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
