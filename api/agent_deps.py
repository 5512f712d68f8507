"""The agent behind the chat, query and briefing routes, built once per app on first use.

``Agent.from_settings`` loads no model (the LLM loads on the first narrative), so building
it is cheap; a test or an embedding program sets ``app.state.agent`` to its own agent first.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from api.deps import Services, ServicesDep

if TYPE_CHECKING:
    from agent.service import Agent

_lock = threading.Lock()


def get_agent(request: Request, services: ServicesDep) -> Agent:
    return agent_of(request.app.state, services)


def agent_of(state: Any, services: Services) -> Agent:
    """The app's agent (``state.agent``), built over ``services`` the first time."""
    with _lock:
        agent: Agent | None = getattr(state, "agent", None)
        if agent is None:
            from agent.service import Agent

            agent = Agent.from_settings(state.settings, services.store, services.search)
            state.agent = agent
    return agent


AgentDep = Annotated["Agent", Depends(get_agent)]
