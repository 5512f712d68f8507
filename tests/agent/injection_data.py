"""Storing the hostile posts of :mod:`agent.injection` as the collectors would."""

from __future__ import annotations

from agent.evalset import store_post

__all__ = ["store_post"]
