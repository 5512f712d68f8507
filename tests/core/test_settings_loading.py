"""Loading settings reads the environment and a TOML file and changes neither."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.paths import DataDirError, DataPaths
from core.settings import ConfigError, load_settings


def test_config_file_is_read_without_touching_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRYPTOSENSE_CONFIG", raising=False)
    config = tmp_path / "c.toml"
    config.write_text("[api]\nport = 9123\n", encoding="utf-8")
    before = dict(os.environ)

    settings = load_settings(config)

    assert settings.api.port == 9123
    assert dict(os.environ) == before
    assert load_settings().api.port == 8000  # the file applied to that call only


def test_config_file_from_the_environment_still_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[api]\nport = 9124\n", encoding="utf-8")
    monkeypatch.setenv("CRYPTOSENSE_CONFIG", str(config))
    assert load_settings().api.port == 9124


def test_missing_config_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_data_paths_are_named_once(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    paths = settings.paths
    assert paths == DataPaths(tmp_path / "var")
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'cryptosense.db'}"
    assert paths.sentiment_onnx.parent == paths.models


def test_data_dir_that_cannot_be_created_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DataDirError, match="cannot create"):
        DataPaths(blocker / "var").ensure()
