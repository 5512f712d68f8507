"""The tools: allow-listed, validated, as-of; and the deterministic answers (no LLM)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.errors import AgentInputError
from agent.service import Agent
from tests.agent.conftest import NOW, MakeAgent


def test_unknown_tool_and_out_of_range_args_are_refused_by_code(make_agent: MakeAgent) -> None:
    agent: Agent = make_agent()
    with pytest.raises(AgentInputError, match="unknown tool 'shell'"):
        agent.call_tool("shell", {"cmd": "rm -rf /"})
    with pytest.raises(AgentInputError, match="window_hours"):
        agent.call_tool("sentiment_index", {"asset": "BTC", "window_hours": 10_000})
    with pytest.raises(AgentInputError, match="limit"):
        agent.call_tool("search_news", {"query": "etf", "limit": 500})
    with pytest.raises(AgentInputError, match="not covered"):
        agent.call_tool("price_summary", {"asset": "PEPE"})
    with pytest.raises(AgentInputError, match="Extra inputs"):
        agent.call_tool("risk_gate", {"asset": "BTC", "url": "http://evil"})


def test_tools_list_their_json_schemas(make_agent: MakeAgent) -> None:
    specs = {s.name: s for s in make_agent().tools()}
    assert set(specs) == {
        "sentiment_index",
        "search_news",
        "price_summary",
        "onchain_summary",
        "fusion_signal",
        "risk_gate",
        "top_movers",
    }
    assert specs["search_news"].args_schema["properties"]["limit"]["maximum"] == 10


def test_every_tool_sees_only_what_was_known_at_asof(make_agent: MakeAgent) -> None:
    agent: Agent = make_agent()
    early = NOW - timedelta(days=7)
    news = agent.call_tool(
        "search_news", {"query": "bitcoin etf", "asset": "BTC", "window_hours": 24 * 30}, asof=early
    )
    assert news["citations"] and all(c["published_at"] <= early for c in news["citations"])
    sig = agent.call_tool("fusion_signal", {"asset": "BTC"}, asof=early)
    figs = {f["name"]: f["value"] for f in sig["figures"]}
    assert sig["fresh"] <= early
    assert figs["BTC ledger resolved signals"] == 7  # resolved by day 7 (days 0-6), of 8 in the end
    now = agent.call_tool("fusion_signal", {"asset": "BTC"})
    assert {f["name"]: f["value"] for f in now["figures"]}["BTC ledger resolved signals"] == 8
    price = agent.call_tool("price_summary", {"asset": "BTC", "window_hours": 24}, asof=early)
    assert price["fresh"] <= early
    sent = agent.call_tool("sentiment_index", {"asset": "ETH", "window_hours": 48}, asof=early)
    assert sent["fresh"] <= early


def test_ask_routes_and_grounds_without_llm(make_agent: MakeAgent) -> None:
    agent: Agent = make_agent()
    ans = agent.ask("How is sentiment on ETH this week and what is driving it?")
    assert ans.kind == "sentiment_drivers" and ans.assets == ["ETH"]
    assert ans.groundedness == 1.0 and ans.citations and ans.llm_calls == 0
    assert {c.tool for c in ans.tool_calls} == {"sentiment_index", "search_news"}
    assert any("before the LLM's training cut-off" in n for n in ans.notes)


def test_not_covered_is_clear_and_never_a_guess(make_agent: MakeAgent) -> None:
    ans = make_agent().ask("What is the outlook for PEPE?")
    assert ans.kind == "not_covered" and ans.assets == ["PEPE"]
    assert not ans.tool_calls and "Not covered: PEPE" in ans.narrative


def test_ethereum_classic_is_not_ethereum(make_agent: MakeAgent) -> None:
    ans = make_agent().ask("How is Ethereum Classic doing?")
    assert ans.assets == ["ETC"]
    ans = make_agent().ask("Compare ETH with Ethereum Classic")
    assert ans.kind == "compare" and ans.assets == ["ETH", "ETC"]


def test_followup_resolves_against_the_previous_turn(make_agent: MakeAgent) -> None:
    agent: Agent = make_agent()
    first = agent.ask("Is BTC risky this week?")
    second = agent.ask("and ETH?", conversation_id=first.conversation_id)
    assert second.kind == "risk_assessment" and second.assets == ["ETH"]
    third = agent.ask("what is driving it?", conversation_id=first.conversation_id)
    assert third.kind == "sentiment_drivers" and third.assets == ["ETH"]


def test_followup_works_across_agents_through_the_store(make_agent: MakeAgent) -> None:
    first = make_agent().ask("How is BTC sentiment today?")
    later = make_agent()  # another process: the conversation comes from the store
    second = later.ask("and ETH?", conversation_id=first.conversation_id)
    assert second.assets == ["ETH"] and second.kind == first.kind
    turns = later.deps.store.conversations.history(first.conversation_id or "")
    assert [t.role for t in turns] == ["user", "assistant"] * 2


def test_future_question_gets_the_signals_record_not_a_prediction(make_agent: MakeAgent) -> None:
    ans = make_agent().ask("Will bitcoin go up tomorrow?")
    assert ans.figures[0].source_tool == "fusion_signal"
    assert any(f.name == "BTC ledger hit rate" for f in ans.figures)
    assert any("no prediction" in n for n in ans.notes)


def test_structured_queries_validate(make_agent: MakeAgent) -> None:
    agent: Agent = make_agent()
    ans = agent.query("compare", {"assets": ["btc", "eth"], "window_hours": 48})
    assert ans.assets == ["BTC", "ETH"] and ans.groundedness == 1.0
    with pytest.raises(AgentInputError, match="assets"):
        agent.query("compare", {"assets": ["BTC"]})
    with pytest.raises(AgentInputError, match="unknown query kind"):
        agent.query("trade", {})
    with pytest.raises(AgentInputError, match="not covered"):
        agent.query("market_context", {"asset": "DOGE"})
    assert set(Agent.QUERY_KINDS) >= {
        "market_context",
        "risk_assessment",
        "sentiment_drivers",
        "compare",
    }
