"""The database every repository shares: the engine (set up per dialect), sessions, and the
few statement helpers that keep the repositories short.

SQLite gets WAL and foreign keys on every connection and waits up to 30 s for a lock;
PostgreSQL connections are pinged before use, so a restarted server costs one reconnect, not
an error. Writes that must be idempotent go through :meth:`Database.insert_ignore` (or build
on :meth:`Database.insert`), which speaks each dialect's ``ON CONFLICT``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, SQLModel, create_engine, select

from core.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: How long a SQLite connection waits for another one's lock before "database is locked".
SQLITE_BUSY_S = 30.0


class Database:
    """One engine and its sessions, for one URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = create_store_engine(url, echo=echo)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def insert(self, table: type[SQLModel]) -> Any:
        """An INSERT that understands ``on_conflict_do_nothing``/``_do_update`` here."""
        mod = postgresql if self.dialect == "postgresql" else sqlite
        return mod.insert(table)

    def insert_ignore(self, table: type[SQLModel], rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows`` in one transaction, keeping any row whose key is already stored;
        returns the driver's count of rows written."""
        if not rows:
            return 0
        with self.session() as s, s.begin():
            res = s.execute(self.insert(table).on_conflict_do_nothing(), rows)
        return int(getattr(res, "rowcount", len(rows)) or 0)

    def count(self, table: type[SQLModel], *where: ColumnElement[bool] | bool) -> int:
        """Rows of ``table`` matching every condition in ``where``."""
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(table).where(*where)).one())

    def one(self, statement: Select[Any]) -> Any:
        """The single value of a one-row, one-column query (an aggregate such as ``max``)."""
        with self.session() as s:
            return s.execute(statement).scalar_one()

    def check(self) -> None:
        """Connect once: :class:`StoreUnavailable` (one line) when the database cannot be
        reached, opened or created. Errors after this point are not about reaching it."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except (OperationalError, InterfaceError) as err:
            raise unavailable(self.url, err) from None

    def close(self) -> None:
        self.engine.dispose()


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """The engine for ``url``; a SQLite file's folder is created first."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None:
            kwargs["poolclass"] = StaticPool  # one in-memory database, shared by every session
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreUnavailable(
                    f"cannot create the folder of {mask_url(url)} ({err.strerror or err})"
                ) from None
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_S}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser()


def mask_url(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable database URL)"


def unavailable(url: str, err: BaseException) -> StoreUnavailable:
    """The one-line error for a database that refused or never answered."""
    cause = getattr(err, "orig", None) or err
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = lines[0][:300] if lines else type(cause).__name__  # the rest is the driver's hint
    return StoreUnavailable(
        f"cannot open the database {mask_url(url)}: {reason} "
        "(check CRYPTOSENSE_DB__URL, or unset it to use SQLite in the data directory)"
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    journal_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def journal_wal(cur: Any, *, patience_s: float = SQLITE_BUSY_S) -> None:
    """Switch the database file to WAL (the mode stays with the file).

    Processes that open a new file at the same moment (services starting together) can each
    hold a read lock and want the write lock the switch needs; SQLite refuses one of them at
    once with "database is locked" instead of waiting, as waiting could deadlock, so the
    busy timeout does not help there. The refused one tries again, for as long as the busy
    timeout would have waited.
    """
    deadline = time.monotonic() + patience_s
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
