"""``POST /v1/chat``: one conversation turn with the agent, streamed as Server-Sent Events.

Events, in order: ``token`` (``{"text": ...}``) as the model writes the narrative, then one
``answer`` (the agent's structured answer: figures, narrative, citations, confidence, the
conversation id), or one ``error`` (``{"message": ...}``). The conversation is kept by the
agent in the store: send the ``conversation_id`` of the previous answer to ask a follow-up.
When the client goes away the stream stops and so does the agent's generation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.agent_deps import AgentDep
from api.params import UtcTime
from api.problems import problem_responses

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["chat"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ChatTurn(BaseModel):
    message: Annotated[str, Field(min_length=1, max_length=1000, description="the question")]
    conversation_id: Annotated[
        str | None,
        Field(max_length=64, description="from the previous answer, to ask a follow-up"),
    ] = None
    asof: UtcTime | None = Field(
        default=None, description="answer with what was known then (default: now)"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"message": "What is driving BTC sentiment this week?"}]}
    }


def sse(event: str, data: Any) -> str:
    """One Server-Sent Event; ``data`` as one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def require_conversation(agent: Any, conversation_id: str | None) -> None:
    """A follow-up names a conversation this service started (404 otherwise)."""
    store = getattr(agent, "conversations", None)
    if conversation_id is not None and store is not None and not store.exists(conversation_id):
        raise HTTPException(404, f"no conversation {conversation_id!r}; omit it to start one")


async def agent_events(
    request: Request, agent: Any, question: str, **kw: Any
) -> AsyncIterator[Any]:
    """The agent's events until it is done or the client has gone; leaving early closes
    the agent's stream, which cancels its generation."""
    stream = agent.astream(question, **kw)
    try:
        async for event in stream:
            if await request.is_disconnected():
                log.info("chat client went away; stopping the agent")
                break
            yield event
    finally:
        await stream.aclose()


@router.post(
    "/chat",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: token events, then one answer (or error) event",
            "content": {
                "text/event-stream": {
                    "example": 'event: token\ndata: {"text":"BTC"}\n\n'
                    'event: answer\ndata: {"question":"...","kind":"market_context",'
                    '"figures":[...],"narrative":"...","citations":[...],'
                    '"conversation_id":"9f2c..."}\n\n'
                }
            },
        },
        **problem_responses(
            {
                404: "no conversation with that id",
                422: "an empty or too long message, or a bad asof",
            }
        ),
    },
)
async def chat(turn: ChatTurn, request: Request, agent: AgentDep) -> StreamingResponse:
    """Ask the agent; the answer streams back as Server-Sent Events."""
    require_conversation(agent, turn.conversation_id)

    async def body() -> AsyncIterator[str]:
        async for event in agent_events(
            request,
            agent,
            turn.message,
            asof=turn.asof,
            conversation_id=turn.conversation_id,
        ):
            if event.type == "token":
                yield sse("token", {"text": event.text})
            elif event.type == "answer":
                yield sse("answer", event.answer.model_dump(mode="json"))
            else:
                yield sse("error", {"message": event.message})

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)
