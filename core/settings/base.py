"""The base of every settings section: frozen, and unknown keys are an error (a typo in a
TOML file or an env name is refused instead of silently ignored)."""

from __future__ import annotations

from pydantic import BaseModel


class Section(BaseModel):
    """One component's settings: the only object the component is built from."""

    model_config = {"extra": "forbid", "frozen": True}
