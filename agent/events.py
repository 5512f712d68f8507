"""What :meth:`agent.service.Agent.astream` yields: tokens as they come, then the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from agent.answer import Answer


class TokenEvent(BaseModel):
    type: Literal["token"] = "token"
    text: str


class AnswerEvent(BaseModel):
    type: Literal["answer"] = "answer"
    answer: Answer


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    message: str


AgentEvent = Annotated[TokenEvent | AnswerEvent | ErrorEvent, Field(discriminator="type")]
