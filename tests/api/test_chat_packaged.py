"""Slow tier: a trader's chat journey with the real packaged model (Qwen2.5-Coder-1.5B GGUF)
through ``POST /v1/chat`` and the OpenAI-compatible endpoint, over a real uvicorn server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent.service import Agent
from core.settings import Settings
from core.store import Store
from tests.api.agent_app import agent_app
from tests.api.live import NOW, serve_app

pytestmark = pytest.mark.slow


@pytest.fixture
def packaged_url(settings: Settings, sqlite_store: Store) -> Iterator[tuple[str, str]]:
    from nlp.llm.packaged import is_assembled

    if not is_assembled():
        pytest.skip("the packaged model is not assembled (scripts/setup.sh)")
    _, key = sqlite_store.keys.create("chat", name="trader")
    with agent_app(settings, sqlite_store) as (app, _):
        # the agent the settings describe: the packaged model, loaded on the first narrative
        app.state.agent = Agent.from_settings(settings, sqlite_store, clock=lambda: NOW)
        with serve_app(app) as url:
            yield url, key


def test_trader_chat_with_the_packaged_model(packaged_url: tuple[str, str]) -> None:
    url, key = packaged_url
    headers = {"Authorization": f"Bearer {key}"}
    events: list[tuple[str, Any]] = []
    body = {"message": "What is driving BTC sentiment this week?"}
    with httpx.stream("POST", f"{url}/v1/chat", json=body, headers=headers, timeout=600) as r:
        name = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name or "message", json.loads(line[5:])))
    assert [k for k, _ in events].count("token") >= 5
    kind, answer = events[-1]
    assert kind == "answer", events[-1]
    assert answer["llm_calls"] >= 1 and answer["groundedness"] == 1.0
    assert answer["narrative"] and answer["citations"] and answer["figures"]

    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key=key, timeout=600)
    reply = client.chat.completions.create(
        model="cryptosense-agent",
        messages=[{"role": "user", "content": "and ETH?"}],
        extra_body={"conversation_id": answer["conversation_id"]},
    )
    extra = reply.model_extra or {}
    assert extra["conversation_id"] == answer["conversation_id"]
    assert "ETH" in extra["cryptosense"]["assets"]
    assert reply.choices[0].message.content
