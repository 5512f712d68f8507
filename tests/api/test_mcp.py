"""The MCP server through the SDK's own client: over streamable HTTP under a real uvicorn
server (with the API's keys) and over stdio (``cryptosense mcp`` as a subprocess). Every
tool is listed and called, and gives the same figures as its REST route."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from agent.briefing import make_briefing
from agent.service import Agent
from api.app import Services, create_app
from core.settings import Settings
from core.store import Store, build_store
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.service import VectorSearch
from tests.api.agent_app import build_agent
from tests.api.live import MV, NOW, seed, serve_app
from tests.nlp.fakes import BagOfWordsEmbedder

ROOT = Path(__file__).resolve().parents[2]

# tool -> (arguments, the REST request that must give the same JSON)
CALLS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "assets": ({}, "/v1/assets", {}),
    "sentiment_series": ({"asset": "btc", "limit": 12}, "/v1/sentiment/BTC", {"limit": 12}),
    "signals": ({}, "/v1/signals", {}),
    "signal_history": ({"asset": "BTC"}, "/v1/signals/BTC", {}),
    "prices": ({"asset": "ETH", "limit": 5}, "/v1/prices/ETH", {"limit": 5}),
    "documents": ({"asset": "ETH", "limit": 4}, "/v1/documents", {"asset": "ETH", "limit": 4}),
    "search": (
        {"q": "BTC buyers return", "limit": 3},
        "/v1/search",
        {"q": "BTC buyers return", "limit": 3},
    ),
    "briefings": ({}, "/v1/briefings", {}),
}

# the agent's tools: (arguments) -> the same dict as Agent.call_tool as of the store's NOW
AGENT_CALLS: dict[str, dict[str, Any]] = {
    "sentiment_index": {"asset": "BTC", "window_hours": 24},
    "search_news": {"query": "buyers return", "asset": "ETH", "limit": 3},
    "price_summary": {"asset": "ETH", "window_hours": 12},
    "onchain_summary": {"asset": "BTC"},
    "fusion_signal": {"asset": "BTC"},
    "risk_gate": {"asset": "BTC"},
    "top_movers": {"window_hours": 24, "limit": 2},
}


@pytest.fixture
def search(settings: Settings, tmp_path: Path) -> Iterator[VectorSearch]:
    embedder = BagOfWordsEmbedder()
    vs = VectorSearch(
        settings.vector,
        settings.embeddings,
        settings.paths,
        embedder=embedder,
        vectors=QdrantEdgeStore(tmp_path / "shard", embedder.dim),
    )
    yield vs
    vs.close()


@pytest.fixture
def served(
    settings: Settings, sqlite_store: Store, search: VectorSearch
) -> Iterator[tuple[str, dict[str, str], Agent]]:
    seed(sqlite_store)
    search.index(sqlite_store, MV)
    _, key = sqlite_store.keys.create("read", name="mcp")
    services = Services(
        store=sqlite_store,
        model_version=sqlite_store.scores.latest_version,
        clock=lambda: NOW,
        search=search,
    )
    app = create_app(settings, services=services)
    agent = build_agent(settings, sqlite_store)
    app.state.agent = agent
    sqlite_store.briefings.put(make_briefing(agent, NOW.date()))
    with serve_app(app) as url:
        yield url, {"Authorization": f"Bearer {key}"}, agent


@asynccontextmanager
async def http_client(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


async def _call_each(client: Client) -> dict[str, Any]:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(CALLS) | {"tool_categories"} <= set(listed)
    for tool in listed.values():
        assert tool.description and len(tool.description) <= 80, tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint
        assert tool.meta and tool.meta["category"], tool.name
    out = {}
    for name, (args, _, _) in CALLS.items():
        result = await client.call_tool(name, args)
        assert not result.is_error, (name, result.content)
        out[name] = result.structured_content
    for name, args in AGENT_CALLS.items():
        assert listed[name].meta == {"category": "agent", "topic": listed[name].meta["topic"]}
        result = await client.call_tool(name, {**args, "asof": NOW.isoformat()})
        assert not result.is_error, (name, result.content)
        out[f"agent:{name}"] = result.structured_content
    briefing = await client.call_tool("briefing", {})
    assert not briefing.is_error, briefing.content
    out["briefing"] = briefing.structured_content
    return out


def _same_as_agent(agent: Agent, results: dict[str, Any]) -> None:
    for name, args in AGENT_CALLS.items():
        direct = json.loads(json.dumps(agent.call_tool(name, args, asof=NOW), default=str))
        got = results[f"agent:{name}"]
        assert got.get("figures") == direct.get("figures"), name


def _same_as_rest(base: str, headers: dict[str, str], results: dict[str, Any]) -> None:
    for name, (_, path, params) in CALLS.items():
        rest = httpx.get(f"{base}{path}", params=params, headers=headers)
        assert rest.status_code == 200, (path, rest.text)
        assert results[name] == rest.json(), name


def test_http_lists_every_tool_by_category_and_matches_the_rest_figures(
    served: tuple[str, dict[str, str], Agent],
) -> None:
    url, headers, agent = served

    async def main() -> tuple[dict[str, Any], Any]:
        async with http_client(url, headers) as client:
            results = await _call_each(client)
            catalogue = await client.call_tool("tool_categories", {})
            return results, catalogue.structured_content

    results, catalogue = anyio.run(main)
    _same_as_rest(url, headers, results)
    _same_as_agent(agent, results)
    md = httpx.get(f"{url}/v1/briefings/{NOW.date().isoformat()}", headers=headers).text
    assert results["briefing"]["markdown"] == md
    cats = catalogue["categories"]
    assert {"sentiment", "signals", "market", "search", "briefings", "agent"} <= set(cats)
    assert len(cats["agent"]) == len(AGENT_CALLS)
    assert {t["name"] for t in cats["signals"]} == {"signals", "signal_history"}
    assert len(results["sentiment_series"]["points"]) == 12
    assert results["signals"]["signals"][0]["reliability"]["resolved"] == 2
    assert results["search"]["stories"], "search found the seeded stories"


def test_a_failing_call_returns_the_real_reason(
    served: tuple[str, dict[str, str], Agent],
) -> None:
    url, headers, _ = served

    async def main() -> dict[str, str]:
        reasons = {}
        async with http_client(url, headers) as client:
            for label, name, args in [
                ("asset", "sentiment_series", {"asset": "NOPE"}),
                ("time", "sentiment_series", {"asset": "BTC", "start": "20210101"}),
                ("agent", "fusion_signal", {"asset": "DOGE"}),
                ("agent-range", "top_movers", {"window_hours": 0}),
                ("day", "briefing", {"day": "2020-01-01"}),
                (
                    "window",
                    "signal_history",
                    {"asset": "BTC", "start": "2024-03-02", "end": "2024-03-01"},
                ),
                ("pair", "prices", {"asset": "DOGE"}),
                ("limit", "documents", {"limit": 0}),
                ("category", "tool_categories", {"category": "weather"}),
            ]:
                result = await client.call_tool(name, args)
                assert result.is_error, label
                reasons[label] = result.content[0].text  # type: ignore[union-attr]
        return reasons

    reasons = anyio.run(main)
    assert "unknown asset 'NOPE'" in reasons["asset"]
    assert "asset 'DOGE' is not covered" in reasons["agent"]
    assert "window_hours" in reasons["agent-range"]
    assert "no briefing for 2020-01-01" in reasons["day"]
    assert "is a number, not a time" in reasons["time"]
    assert "end: must not be before start" in reasons["window"]
    assert "no price pair configured for 'DOGE'" in reasons["pair"]
    assert "limit" in reasons["limit"]
    assert "unknown category 'weather'; categories:" in reasons["category"]


def test_http_needs_a_key_with_the_read_scope(
    served: tuple[str, dict[str, str], Agent], sqlite_store: Store
) -> None:
    url, _, _ = served
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    plain = httpx.post(f"{url}/mcp", json=body)
    assert plain.status_code == 401
    assert plain.headers["content-type"] == "application/problem+json"
    assert "API key is required" in plain.json()["detail"]
    _, chat_only = sqlite_store.keys.create("chat", name="chatbot")
    refused = httpx.post(f"{url}/mcp", json=body, headers={"Authorization": f"Bearer {chat_only}"})
    assert refused.status_code == 403
    assert "lacks the 'read' scope" in refused.json()["detail"]


def test_stdio_serves_the_same_tools_over_the_configured_store(
    settings: Settings, tmp_path: Path
) -> None:
    store = build_store(settings.db, settings.paths)
    try:
        seed(store)
        _, key = store.keys.create("read", name="ide")
        rest_app = create_app(settings, services=Services.from_settings(settings))
    finally:
        store.close()
    env = {
        "CRYPTOSENSE_DATA_DIR": str(settings.paths.root),
        "CRYPTOSENSE_API_KEY": key,
        "CRYPTOSENSE_VECTOR__IN_SERVICE": "false",
        "PYTHONPATH": str(ROOT),
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "cryptosense", "mcp"], env=env, cwd=str(ROOT)
    )

    async def main() -> dict[str, Any]:
        out = {}
        async with Client(params) as client:
            for name in ("assets", "sentiment_series", "signals", "prices", "documents"):
                result = await client.call_tool(name, CALLS[name][0])
                assert not result.is_error, (name, result.content)
                out[name] = result.structured_content
            for name, args in AGENT_CALLS.items():
                if name == "search_news":
                    continue  # vector search is off in this process
                result = await client.call_tool(name, {**args, "asof": NOW.isoformat()})
                assert not result.is_error, (name, result.content)
                out[f"agent:{name}"] = result.structured_content
            off = await client.call_tool("search", {"q": "bitcoin"})
            assert off.is_error
            out["search_off"] = off.content[0].text  # type: ignore[union-attr]
        return out

    results = anyio.run(main)
    assert "vector search is off" in results.pop("search_off")
    store = build_store(settings.db, settings.paths)
    try:
        agent = build_agent(settings, store)
        for name, args in AGENT_CALLS.items():
            if name != "search_news":
                direct = json.loads(json.dumps(agent.call_tool(name, args, asof=NOW), default=str))
                assert results.pop(f"agent:{name}")["figures"] == direct["figures"], name
    finally:
        store.close()
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(rest_app, headers=headers) as rest:
        for name, got in results.items():
            _, path, query = CALLS[name]
            assert got == rest.get(path, params=query).json(), name
    assert results["sentiment_series"]["points"]  # figures came back
