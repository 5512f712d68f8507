"""The command line facing a data directory it cannot use, and an asset nothing mentions:
one line on stderr and exit code 2, never a traceback, never a silent empty answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from core.store import build_store
from cryptosense.cli import main
from tests.factories import doc


@pytest.fixture
def blocked(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose path runs through a regular file: it can never be created."""
    wall = tmp_path / "not-a-folder"
    wall.write_text("a file where a folder would go\n")
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(wall / "var"))
    return wall


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["index", "rebuild"],
        ["embed"],
        ["search", "bitcoin"],
        ["search", "bitcoin", "--asset", "BTC"],
        ["sources"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_data_dir_that_cannot_be_created_is_one_line_and_exit_2(
    blocked: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"cryptosense: cannot create {blocked / 'var'} ")
    assert "CRYPTOSENSE_DATA_DIR" in line


def test_sqlite_file_whose_folder_cannot_be_created_is_one_line_and_exit_2(
    blocked: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRYPTOSENSE_DB__URL", f"sqlite:///{blocked}/db/cryptosense.db")
    assert main(["index", "rebuild"]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"cryptosense: cannot create {blocked}/db")


def test_embedding_cache_folder_that_cannot_be_created_is_one_line_and_exit_2(
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "models").write_text("a file where the models folder would go\n")
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(data_dir))
    assert main(["embed"]) == 2
    err = capsys.readouterr().err  # after the notice that no document is scored yet
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"cryptosense: cannot create {data_dir / 'models' / 'embeddings'} ")


def test_search_for_an_asset_no_document_mentions_says_so_and_exits_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The API answers 404 for such an asset; the CLI used to print nothing and exit 0."""
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    store = build_store(settings.db, settings.paths)
    store.documents.add([doc("https://news.example.com/btc", assets=("BTC",))])
    store.close()
    assert main(["search", "bitcoin", "--asset", "btc", "--asset", "NOPECOIN"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = _one_line(captured.err)
    assert line == "cryptosense: unknown asset 'NOPECOIN': no stored document mentions it"


def test_output_piped_into_a_reader_that_stops_early_ends_without_a_traceback(
    tmp_path: Path,
) -> None:
    """``cryptosense ... | head`` closes the pipe under the command; that used to end in a
    ``BrokenPipeError`` traceback (and Python's "Exception ignored" note at exit)."""
    import os
    import subprocess
    import sys

    market = Path(__file__).parent / "data" / "market" / "daily_btc_small.csv"
    env = {**os.environ, "CRYPTOSENSE_DATA_DIR": str(tmp_path / "var")}
    argv = ["import", "onchain", str(market), "--asset", "BTC", "--dry-run"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryptosense", "-q", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "Exception ignored" not in err, err
