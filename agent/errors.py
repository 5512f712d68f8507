"""The agent's errors: a bad request is refused by code, with the reason."""

from __future__ import annotations

from core.errors import UserFacingError


class AgentInputError(UserFacingError):
    """An unknown tool or query kind, or arguments out of range; the message says which."""
