"""Alembic's environment: migrate the connection :mod:`core.store.migrate` hands over.

Online only, on that one connection (it holds the migration lock); each revision runs in
its own transaction, and SQLite revisions use batch mode so later ALTERs work there too.
"""

from __future__ import annotations

from alembic import context

from core.store.tables import metadata

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
)
with context.begin_transaction():
    context.run_migrations()
