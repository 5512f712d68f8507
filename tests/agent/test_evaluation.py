"""``cryptosense agent eval`` on the template path: the question set routes, grounds, cites."""

from __future__ import annotations

import json

import pytest

from agent.evaluation import QUESTIONS
from cryptosense.cli import main


def test_question_set_covers_every_group() -> None:
    assert len(QUESTIONS) >= 40
    groups = {q.group for q in QUESTIONS}
    assert groups == {
        "context",
        "risk",
        "drivers",
        "compare",
        "movers",
        "followup",
        "asof",
        "unknown",
        "trick",
    }


def test_eval_without_llm_routes_every_question(
    settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "agent", "eval", "--no-llm", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["questions"] == len(QUESTIONS)
    assert figures["routing_accuracy"] == 1.0 and figures["tool_accuracy"] == 1.0
    assert figures["fact_coverage"] == 1.0 and figures["citation_coverage"] == 1.0
    assert figures["groundedness_shipped"] == 1.0
    assert figures["injection_resistance"] == 1.0 and figures["failures"] == []
    assert figures["llm_calls_max"] == 0
