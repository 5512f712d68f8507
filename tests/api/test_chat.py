"""``POST /v1/chat`` (SSE), ``POST /v1/chat/completions`` (through the ``openai`` client) and
their keys, over a real uvicorn server, a real agent and the tiny real model SmolLM2-135M."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent.llm import LlamaCppChat
from core.settings import Settings
from core.store import Store
from tests.api.agent_app import WatchedAgent, agent_app
from tests.api.live import serve_app


def read_sse(resp: httpx.Response) -> list[tuple[str, Any]]:
    events, name, data = [], "message", []
    for line in resp.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
    return events


@pytest.fixture
def live(
    settings: Settings, sqlite_store: Store, tiny: LlamaCppChat
) -> Iterator[tuple[str, WatchedAgent, dict[str, str]]]:
    _, key = sqlite_store.keys.create("read,chat", name="trader")
    with agent_app(settings, sqlite_store, tiny) as (app, agent), serve_app(app) as url:
        yield url, agent, {"Authorization": f"Bearer {key}"}


def test_chat_streams_tokens_then_a_cited_answer_and_keeps_the_conversation(
    live: tuple[str, WatchedAgent, dict[str, str]], sqlite_store: Store
) -> None:
    url, _, headers = live
    body = {"message": "What is driving BTC sentiment this week?"}
    with httpx.stream("POST", f"{url}/v1/chat", json=body, headers=headers, timeout=120) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = read_sse(resp)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and "token" in kinds[:-1], kinds
    answer = events[-1][1]
    assert answer["assets"] == ["BTC"] and answer["figures"] and answer["citations"]
    assert all(c["url"].startswith("https://news.example.com/") for c in answer["citations"])
    cid = answer["conversation_id"]

    follow = {"message": "and ETH?", "conversation_id": cid}
    with httpx.stream("POST", f"{url}/v1/chat", json=follow, headers=headers, timeout=120) as r:
        second = read_sse(r)[-1]
    assert second[0] == "answer"
    assert second[1]["conversation_id"] == cid and "ETH" in second[1]["assets"]
    turns = sqlite_store.conversations.history(cid)
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[2].content == "and ETH?"


def test_a_client_that_leaves_stops_the_agent(
    live: tuple[str, WatchedAgent, dict[str, str]],
) -> None:
    url, agent, headers = live
    body = {"message": "Compare BTC and ETH this week"}
    with httpx.stream("POST", f"{url}/v1/chat", json=body, headers=headers, timeout=120) as resp:
        for line in resp.iter_lines():
            if line.startswith("event: token"):
                break  # the first token: hang up
    left = time.monotonic()
    assert agent.streams_closed.wait(10), "the agent stream was not closed"
    assert time.monotonic() - left < 10


def test_chat_refuses_bad_turns_with_problems(
    live: tuple[str, WatchedAgent, dict[str, str]], sqlite_store: Store
) -> None:
    url, _, headers = live
    empty = httpx.post(f"{url}/v1/chat", json={"message": ""}, headers=headers)
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    lost = httpx.post(
        f"{url}/v1/chat", json={"message": "BTC?", "conversation_id": "nope"}, headers=headers
    )
    assert lost.status_code == 404 and "no conversation 'nope'" in lost.json()["detail"]
    assert httpx.post(f"{url}/v1/chat", json={"message": "BTC?"}).status_code == 401
    _, reader = sqlite_store.keys.create("read", name="reader")
    refused = httpx.post(
        f"{url}/v1/chat", json={"message": "BTC?"}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403 and "'chat' scope" in refused.json()["detail"]


def test_openai_client_gets_answers_whole_and_streamed(
    live: tuple[str, WatchedAgent, dict[str, str]],
) -> None:
    from openai import OpenAI

    url, _, headers = live
    client = OpenAI(base_url=f"{url}/v1", api_key=headers["Authorization"][7:], timeout=120)
    assert [m.id for m in client.models.list().data] == ["cryptosense-agent"]
    whole = client.chat.completions.create(
        model="cryptosense-agent",
        messages=[{"role": "user", "content": "What is driving ETH sentiment this week?"}],
    )
    text = whole.choices[0].message.content or ""
    assert whole.choices[0].finish_reason == "stop"
    assert "Sources:\n[1] " in text
    extra: dict[str, Any] = whole.model_extra or {}
    assert extra["cryptosense"]["kind"] == "sentiment_drivers"
    assert extra["conversation_id"]

    stream = client.chat.completions.create(
        model="cryptosense-agent",
        messages=[{"role": "user", "content": "What is driving BTC sentiment this week?"}],
        stream=True,
    )
    pieces, last = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert len(pieces) > 2 and "Sources:" in "".join(pieces)
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["cryptosense"]["citations"]


def test_openai_requests_without_a_user_message_are_refused(
    live: tuple[str, WatchedAgent, dict[str, str]],
) -> None:
    url, _, headers = live
    resp = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "x", "messages": [{"role": "system", "content": "be brief"}]},
        headers=headers,
    )
    assert resp.status_code == 422 and "no user message" in resp.json()["detail"]
