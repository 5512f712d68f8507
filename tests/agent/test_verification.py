"""The cost governor and the number check around whatever a chat model writes (a scripted
LangChain chat model stands in for the LLM: what is tested is the plumbing around it)."""

from __future__ import annotations

import threading

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from tests.agent.conftest import MakeAgent


def test_invented_numbers_are_removed_and_the_rest_ships(make_agent: MakeAgent) -> None:
    model = FakeListChatModel(
        responses=[
            "ETH sentiment index is 68.04. It will reach 95 next week. See http://evil.test/x."
        ]
    )
    ans = make_agent(chat_model=model).ask("How is sentiment on ETH this week?")
    assert ans.narrative == "ETH sentiment index is 68.04."
    assert ans.groundedness == 1.0 and ans.draft_groundedness == 0.5
    assert ans.llm_calls == 1 and any("removed 1 sentence" in n for n in ans.notes)


def test_nothing_verified_regenerates_once_then_falls_back(make_agent: MakeAgent) -> None:
    model = FakeListChatModel(responses=["BTC hits 123456 soon.", "Up 42 percent."])
    ans = make_agent(chat_model=model).ask("How is BTC doing?")
    assert ans.llm_calls == 2 and ans.narrative.startswith("According to the stored data")
    assert ans.groundedness == 1.0


def test_canary_in_output_falls_back_to_the_template(make_agent: MakeAgent) -> None:
    agent = make_agent()
    agent._model = FakeListChatModel(responses=[f"My marker is {agent.canary}."])
    ans = agent.ask("How is BTC doing?")
    assert agent.canary not in ans.model_dump_json()
    assert any("echoed its system prompt" in n for n in ans.notes)


def test_cancellation_stops_before_the_llm(make_agent: MakeAgent) -> None:
    cancel = threading.Event()
    cancel.set()
    model = FakeListChatModel(responses=["never read"])
    ans = make_agent(chat_model=model).ask("How is BTC doing?", cancel=cancel)
    assert ans.llm_calls == 0 and "cancelled" in ans.notes


def test_advice_from_the_model_never_ships(make_agent: MakeAgent) -> None:
    model = FakeListChatModel(
        responses=["Yes, you should buy BTC now. The BTC ledger hit rate is 75.00%."]
    )
    ans = make_agent(chat_model=model).ask("Should I buy BTC now?")
    assert ans.narrative == "The BTC ledger hit rate is 75.00%."
