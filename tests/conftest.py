"""Shared fixtures: settings on a temporary data dir, stores on SQLite and PostgreSQL, a
loopback HTTP server, and the optional third-party data folder."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from core.settings import Settings, load_settings
from core.store import Store
from core.store.tables import metadata
from tests.loopback import LoopbackServer, serve
from tests.sentiment_fixtures import seed_subset_csv, trained_sentiment

__all__ = ["seed_subset_csv", "trained_sentiment"]  # session fixtures for every folder

PG_ADMIN_URL = os.environ.get(
    "CRYPTOSENSE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _drop_logging_set_up_by_the_cli() -> Iterator[None]:
    """``cryptosense.cli.main`` points the root logger at the ``sys.stderr`` of the moment,
    which under ``capsys`` is a stream that closes with the test. Remove what it added
    afterwards, so a later test's log record (a store migrating, say) is not written to a
    closed stream as a "Logging error" traceback in that test's stderr."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers and type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("CRYPTOSENSE_") and key not in (
            "CRYPTOSENSE_REAL_DATA",
            "CRYPTOSENSE_TEST_PG",
        ):
            monkeypatch.delenv(key)
    return load_settings(data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database built through the migrations, once; each test opens a copy (a
    migration per test would cost about 70 ms, a copy 3 ms)."""
    path = tmp_path_factory.mktemp("store-template") / "template.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def sqlite_store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    target = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, target)
    store = Store.open(f"sqlite:///{target}")
    yield store
    store.close()


@contextmanager
def _pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on exit (skips when there is no server)."""
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    from sqlalchemy import create_engine

    name = f"cryptosense_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 refused a test database: {err}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database for this test session, migrated to head, dropped afterwards."""
    with _pg_database() as url:
        Store.open(url).close()
        yield url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own, empty (no tables), for tests that build a schema."""
    with _pg_database() as url:
        yield url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    """The session's migrated database, emptied of rows (faster than rebuilding it)."""
    store = Store.open(pg_url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with store.session() as s, s.begin():
        s.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Store:
    """The same store tests run on SQLite and on the local PostgreSQL."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with serve() as srv:
        yield srv


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/data`` (or $CRYPTOSENSE_REAL_DATA); tests using it skip when absent."""
    raw = os.environ.get("CRYPTOSENSE_REAL_DATA")
    if not raw:
        pytest.skip("third-party data not given: set CRYPTOSENSE_REAL_DATA=../shared/data")
    path = Path(raw)
    if not path.is_dir():
        pytest.skip(f"CRYPTOSENSE_REAL_DATA={raw} is not a folder")
    return path
