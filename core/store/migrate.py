"""Schema migrations: bring a database to the revision this code expects, safely.

Every :meth:`core.store.Store.open` (the service, the API, each CLI command) and ``cryptosense
db upgrade`` call :func:`upgrade`. The revisions are Alembic scripts in ``migrations/versions``
(shipped inside the package, configured here in code: no ``alembic.ini``). What makes it safe:

- **One migrator at a time.** A file lock beside a SQLite file, a PostgreSQL advisory lock
  (per database) otherwise; a second process waits, then finds the schema current. Inside
  one process a plain lock serialises migrations too (Alembic's running context is global).
- **One transaction per revision.** PostgreSQL runs DDL in transactions; SQLite does too once
  the driver stops managing transactions itself, so migrations use their own SQLite
  connection that begins each transaction with ``BEGIN IMMEDIATE``. A failed revision leaves
  the database at the previous one.
- **Databases from before migrations** (tables present, no ``alembic_version``) are recognised
  as revision 0001 and stamped; if an older ``create_all`` had not yet made one of 0001's
  tables, 0001 runs instead, and (written with IF NOT EXISTS) adds only what is missing.
- **A revision this code does not know** (the database was migrated by a newer cryptosense)
  stops with :class:`SchemaError` instead of running against a schema it does not understand.

SQLite cannot ALTER most things in place, so revisions run in Alembic's batch mode (copy and
swap); foreign keys stay off on the migration connection so a swapped table keeps its
references.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from core.store.engine import journal_wal, mask_url, sqlite_path
from core.store.errors import SchemaError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
#: The revision that describes the schema as ``create_all`` built it before migrations.
FIRST = "0001"
#: Alembic keeps the running migration in module globals (``alembic.context``, ``op``), so two
#: threads of one process must not migrate at once, even different databases.
_IN_PROCESS = threading.Lock()
#: Held by the process that migrates a PostgreSQL database (advisory locks are per database).
_PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"cryptosense.store.migrate").digest()[:8], "big", signed=True
)


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against this code's revisions."""

    url: str  # password masked
    revision: str | None  # the stored revision; None when none is recorded
    head: str
    legacy: bool = False  # tables present but no alembic_version: built before migrations
    exists: bool = True  # False: the SQLite file has not been created yet

    @property
    def known(self) -> bool:
        return self.revision is None or self.revision in revisions()

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head

    @property
    def status(self) -> str:
        """One line for ``cryptosense db current``."""
        if not self.exists:
            return "no database yet; the first start creates it"
        if self.up_to_date:
            return "up to date"
        if not self.known:
            return "newer than this code; run the cryptosense that migrated it"
        behind = "behind: `cryptosense db upgrade` (or any start) migrates it"
        if self.legacy:
            return f"built before migrations (counts as {FIRST}); {behind}"
        return f"empty; {behind}" if self.revision is None else behind


def alembic_config(connection: Connection | None = None, **attributes: Any) -> Config:
    """Alembic's configuration, built in code; ``connection`` is what env.py migrates."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    cfg.attributes.update(attributes, connection=connection)
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this code knows."""
    heads = _script().get_heads()
    if len(heads) != 1:  # a merge was forgotten; tests catch it before a user could
        raise RuntimeError(f"migrations must have one head, found {heads}")
    return heads[0]


@cache
def revisions() -> frozenset[str]:
    return frozenset(s.revision for s in _script().walk_revisions())


def inspect_schema(engine: Engine) -> SchemaState:
    """Where ``engine``'s database stands, changing nothing."""
    with engine.connect() as conn:
        return _state(conn, engine.url.render_as_string(hide_password=False))


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Migrate ``engine``'s database to head and return where it stood before and where it
    stands now. Raises :class:`SchemaError` for a database newer than this code; connection
    errors propagate as SQLAlchemy raises them."""
    url = engine.url.render_as_string(hide_password=False)
    with _IN_PROCESS, _migration_connection(engine) as (conn, transactional):
        before = _state(conn, url)
        conn.rollback()  # alembic begins its own transactions on this connection
        if not before.known:
            raise SchemaError(
                f"the database {before.url} is at schema revision {before.revision}, which "
                f"this cryptosense does not know (its newest is {before.head}); run the newer "
                "cryptosense that migrated it, or set CRYPTOSENSE_DB__URL to another database"
            )
        if before.up_to_date:
            return before, before
        cfg = alembic_config(conn, transactional_ddl=transactional)
        if before.legacy:
            _adopt(cfg, conn, before)
        command.upgrade(cfg, "head")
        after = _state(conn, url)
        conn.rollback()
    log.info(
        "database %s migrated from %s to %s",
        after.url,
        "before-migrations" if before.legacy else before.revision or "empty",
        after.revision,
    )
    return before, after


def _adopt(cfg: Config, conn: Connection, state: SchemaState) -> None:
    """Record a database built by ``create_all`` before migrations as revision 0001."""
    expected = set(_script().get_revision(FIRST).module.TABLES)
    missing = sorted(expected - set(inspect(conn).get_table_names()))
    conn.rollback()
    if missing:
        log.info("database %s predates migrations and lacks %s: adding them", state.url, missing)
        command.upgrade(cfg, FIRST)
    else:
        log.info("database %s predates migrations: recording it as revision %s", state.url, FIRST)
        command.stamp(cfg, FIRST)


def _state(conn: Connection, url: str) -> SchemaState:
    revision = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names())
    legacy = revision is None and "alembic_version" not in tables and "documents" in tables
    return SchemaState(url=mask_url(url), revision=revision, head=head(), legacy=legacy)


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[tuple[Connection, bool | None]]:
    """A connection to migrate on, held under this database's migration lock, and whether
    its transactions cover DDL (None: the dialect's own answer)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            if not got.scalar_one():
                log.info("waiting for another process to finish migrating the database")
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield conn, None
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    url = engine.url.render_as_string(hide_password=False)
    path = sqlite_path(url)
    if path is None:  # in-memory: one connection, nobody to race with
        with engine.connect() as conn:
            yield conn, None
        return
    lock = FileLock(str(path) + ".migrate.lock")
    with _acquired(lock):
        migrator = _sqlite_migration_engine(url)
        try:
            with migrator.connect() as conn:
                yield conn, True
        finally:
            migrator.dispose()


@contextmanager
def _acquired(lock: FileLock) -> Iterator[None]:
    try:
        lock.acquire(blocking=False)
    except Timeout:
        log.info("waiting for another process to finish migrating the database")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _sqlite_migration_engine(url: str) -> Engine:
    """A SQLite engine whose transactions include DDL: the driver's own transaction handling
    is switched off and every transaction starts with ``BEGIN IMMEDIATE`` (the write lock
    up front, so no reader can make it fail half-way)."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        journal_wal(dbapi_conn.cursor())

    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", _connect)
    event.listen(engine, "begin", _begin)
    return engine
