"""``cryptosense ask``: one JSON object, or the narrative with figures and sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.store import build_store
from cryptosense.cli import main
from tests.agent.conftest import NOW, fill


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: object) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(var))
    from core.settings import load_settings

    s = load_settings()
    store = build_store(s.db, s.paths)
    fill(store)
    store.close()
    return var


def test_ask_json_prints_one_grounded_object(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asof = NOW.isoformat().replace("+00:00", "Z")
    code = main(
        [
            "ask",
            "How is sentiment on ETH this week and what is driving it?",
            "--json",
            "--no-llm",
            "--asof",
            asof,
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "sentiment_drivers" and out["assets"] == ["ETH"]
    assert out["groundedness"] == 1.0 and out["citations"] and out["tool_calls"]
    assert {"figures", "narrative", "llm_calls", "tokens", "seconds"} <= set(out)


def test_ask_prints_sources_and_not_covered(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "Is PEPE a buy?", "--no-llm"]) == 0
    assert "Not covered: PEPE" in capsys.readouterr().out
    assert main(["ask", "", "--no-llm"]) == 2
    assert "the question is empty" in capsys.readouterr().err
