"""Opening a store: from its settings section, a database that cannot be reached (one line,
exit 2), and the ``cryptosense db current`` / ``db upgrade`` commands."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.paths import DataPaths
from core.settings import DatabaseSettings, Settings
from core.store import Store, StoreUnavailable, build_store, migrate
from core.store.engine import journal_wal
from cryptosense.cli import main
from tests.core import pre_0001
from tests.factories import doc

ROOT = Path(__file__).parents[2]
DEAD_PG = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/cryptosense"


@pytest.mark.parametrize("command", [["sources"], ["serve"], ["db", "current"]])
def test_unreachable_postgresql_is_one_line_and_exit_2_not_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOSENSE_")}
    env |= {"CRYPTOSENSE_DB__URL": DEAD_PG, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "cryptosense", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(
        "cryptosense: cannot open the database "
        "postgresql+psycopg://postgres:***@127.0.0.1:1/cryptosense: "
    )
    assert "Connection refused" in lines[0]
    assert "hunter2" not in run.stderr + run.stdout


def test_store_open_names_the_database_with_its_password_masked() -> None:
    with pytest.raises(StoreUnavailable) as err:
        Store.open(DEAD_PG)
    assert "postgres:***@127.0.0.1:1" in str(err.value)
    assert "hunter2" not in str(err.value)
    assert err.value.exit_code == 2


def test_sqlite_file_whose_folder_cannot_be_created_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreUnavailable, match="cannot create the folder of sqlite:///"):
        Store.open(f"sqlite:///{blocker / 'db' / 'cryptosense.db'}")


def test_build_store_opens_sqlite_in_the_data_directory_by_default(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "var")
    store = build_store(DatabaseSettings(), paths)
    try:
        assert store.url == f"sqlite:///{paths.database}"
        assert paths.database.is_file()
        store.documents.add([doc()])
        assert store.counts() == {"documents": 1, "scores": 0, "index_points": 0}
    finally:
        store.close()


def test_settings_database_url_is_the_db_sections_answer(settings: Settings) -> None:
    assert settings.database_url == settings.db.resolved_url(settings.paths)
    assert DatabaseSettings(url=DEAD_PG).resolved_url(settings.paths) == DEAD_PG


# --- cryptosense db -------------------------------------------------------------------------


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    return settings.data_dir


def _db(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["db", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_db_current_on_a_fresh_data_directory_creates_no_database(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _db("current", capsys=capsys)
    assert code == 0
    assert f"database  sqlite:///{data_dir / 'cryptosense.db'}" in out
    assert f"head      {migrate.head()}" in out
    assert "no database yet" in out
    assert not (data_dir / "cryptosense.db").exists()


def test_db_upgrade_migrates_a_database_from_before_migrations_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir(parents=True)
    engine = pre_0001.build(f"sqlite:///{data_dir / 'cryptosense.db'}")
    pre_0001.fill(engine, pre_0001.rows())
    engine.dispose()

    code, out, _ = _db("current", capsys=capsys)
    assert code == 0
    assert "revision  none recorded (tables made before migrations)" in out
    assert "status    built before migrations (counts as 0001); behind" in out

    code, out, _ = _db("upgrade", capsys=capsys)
    assert code == 0
    assert out.strip().endswith(
        f"migrated from before-migrations to revision {migrate.head()} (head)"
    )

    code, out, _ = _db("current", capsys=capsys)
    assert (f"revision  {migrate.head()}", "status    up to date") == tuple(out.splitlines()[1::2])

    code, out, _ = _db("upgrade", capsys=capsys)
    assert out.strip().endswith(f"already at revision {migrate.head()} (head)")


def test_db_commands_on_a_database_newer_than_the_code(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _db("upgrade", capsys=capsys)[0] == 0
    engine = create_engine(f"sqlite:///{data_dir / 'cryptosense.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()

    code, out, _ = _db("current", capsys=capsys)
    assert code == 0
    assert "revision  0099" in out and "newer than this code" in out

    code, out, err = _db("upgrade", capsys=capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "schema revision 0099, which this cryptosense does not know" in err


@pytest.mark.integration
def test_db_current_on_postgresql_masks_the_password(
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_password = pg_url.replace("postgres@", "postgres:hunter2@", 1)
    monkeypatch.setenv("CRYPTOSENSE_DB__URL", with_password)
    code, out, _ = _db("current", capsys=capsys)
    assert code == 0
    assert "postgres:***@127.0.0.1" in out and "hunter2" not in out
    assert "status    up to date" in out


class _RefusedTwice:
    """A cursor SQLite refuses twice with "database is locked", then obeys (the refusal a
    process meets when others open a new file at the same moment)."""

    def __init__(self, error: str = "database is locked") -> None:
        self.error = error
        self.calls: list[str] = []

    def execute(self, sql: str) -> None:
        self.calls.append(sql)
        if len(self.calls) <= 2:
            raise sqlite3.OperationalError(self.error)


def test_switching_to_wal_tries_again_when_sqlite_refuses_at_once() -> None:
    cur = _RefusedTwice()
    journal_wal(cur)
    assert cur.calls == ["PRAGMA journal_mode=WAL"] * 3


def test_switching_to_wal_gives_up_after_its_patience_or_on_another_error() -> None:
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        journal_wal(_RefusedTwice(), patience_s=0.0)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        journal_wal(_RefusedTwice("disk I/O error"))
