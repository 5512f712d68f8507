"""Shared fixtures: settings on a temporary data dir, stores on SQLite and PostgreSQL, a
loopback HTTP server, and the optional third-party data folder."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from core.store import Store
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


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("CRYPTOSENSE_") and key not in (
            "CRYPTOSENSE_REAL_DATA",
            "CRYPTOSENSE_TEST_PG",
        ):
            monkeypatch.delenv(key)
    return load_settings(data_dir=tmp_path / "var")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'test.db'}")
    store.create_all()
    yield store
    store.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    name = f"cryptosense_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 refused a test database: {err}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = Store(pg_url)
    store.drop_all()
    store.create_all()
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
