"""What an answer is: figures from tools, a checked narrative, citations (JSON-serialisable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Confidence = Literal["low", "medium", "high"]


class Figure(BaseModel):
    """One number a tool returned; the narrative may only use these."""

    name: str
    value: float | int | str
    unit: str | None = None
    source_tool: str
    asof: datetime


class Citation(BaseModel):
    """A stored document a claim in the answer draws on."""

    id: str
    source: str
    title: str
    url: str | None = None
    published_at: datetime | None = None


class ToolCall(BaseModel):
    tool: str
    args: dict[str, Any]
    seconds: float
    ok: bool
    error: str | None = None


class Answer(BaseModel):
    question: str
    kind: str
    assets: list[str] = Field(default_factory=list)
    asof: datetime | None = None
    figures: list[Figure] = Field(default_factory=list)
    narrative: str = ""
    citations: list[Citation] = Field(default_factory=list)
    freshness: dict[str, datetime | None] = Field(default_factory=dict)
    confidence: Confidence = "low"
    groundedness: float = 1.0
    draft_groundedness: float | None = None  # the LLM's first draft, before removals
    first_token_s: float | None = None
    notes: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    llm_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    conversation_id: str | None = None
