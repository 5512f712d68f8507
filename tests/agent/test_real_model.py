"""The agent with the real packaged model (Qwen2.5-Coder-1.5B Q4_K_M), slow tier: routing,
number verification, as-of answers, the future, "not covered", budgets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from agent.evalset import NOW
from agent.grounding import allowed_numbers, numbers_in
from agent.llm import LlamaCppChat
from nlp.llm.packaged import is_assembled
from tests.agent.conftest import MakeAgent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_assembled(), reason="the packaged LLM is not assembled"),
]


@pytest.fixture(scope="module")
def qwen() -> LlamaCppChat:
    return LlamaCppChat(threads=1, threads_batch=2, n_ctx=2048, max_tokens=90)


def test_grounded_cited_answer_within_budget(make_agent: MakeAgent, qwen: LlamaCppChat) -> None:
    agent = make_agent(chat_model=qwen)
    tokens: list[str] = []
    ans = agent.ask(
        "How is sentiment on ETH this week and what is driving it?", on_token=tokens.append
    )
    assert ans.kind == "sentiment_drivers" and ans.assets == ["ETH"]
    assert 1 <= ans.llm_calls <= 3 and tokens and ans.first_token_s is not None
    assert ans.groundedness == 1.0 and ans.citations
    allowed = allowed_numbers(ans.figures, [168, 7, 0, 1, 100])
    assert all(
        any(
            abs(float(n.replace(",", "")) - v) < 0.01
            or abs(abs(float(n.replace(",", ""))) - abs(v)) < 0.01
            for v in allowed
        )
        for n in numbers_in(ans.narrative)
        if re.fullmatch(r"[-+]?\d+(\.\d+)?", n)
    )
    assert agent.canary not in ans.model_dump_json()


def test_asof_answer_sees_only_the_past(make_agent: MakeAgent, qwen: LlamaCppChat) -> None:
    asof = NOW - timedelta(days=7)
    ans = make_agent(chat_model=qwen).ask("How was BTC doing?", asof=asof)
    assert ans.asof == asof and ans.groundedness == 1.0
    assert all(t is None or t <= asof for t in ans.freshness.values())
    assert all(c.published_at is None or c.published_at <= asof for c in ans.citations)
    assert any("training cut-off" in n for n in ans.notes)


def test_future_question_gets_no_prediction(make_agent: MakeAgent, qwen: LlamaCppChat) -> None:
    ans = make_agent(chat_model=qwen).ask("Will bitcoin go up tomorrow?")
    assert ans.groundedness == 1.0
    assert any(f.name == "BTC ledger hit rate" for f in ans.figures)
    assert not re.search(r"\bwill (rise|reach|hit|go up)\b", ans.narrative, re.I)


def test_not_covered_needs_no_llm(make_agent: MakeAgent, qwen: LlamaCppChat) -> None:
    ans = make_agent(chat_model=qwen).ask("How is Monero doing?")
    assert ans.kind == "not_covered" and ans.assets == ["XMR"] and ans.llm_calls == 0
