"""``POST /v1/chat/completions`` and ``GET /v1/models``: the agent behind the OpenAI chat
completions protocol, so existing clients and SDKs work unchanged.

The question is the last user message (earlier messages are the client's own history; the
agent keeps the conversation itself: pass ``conversation_id``, returned with every answer,
as an extra body field to continue one). ``stream: true`` sends ``chat.completion.chunk``
events ending with ``data: [DONE]``; otherwise one ``chat.completion``. The message content
is the agent's narrative followed by its numbered sources; the structured answer (figures,
citations, confidence) rides along as the extra field ``cryptosense`` (on the last chunk
when streaming). ``usage`` counts the agent's tokens, prompts and generation together, as
``completion_tokens`` (``prompt_tokens`` is 0: the client's prompt is not the model's).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.answer import Answer
from api.agent_deps import AgentDep
from api.problems import invalid, problem_responses
from api.routes.chat import SSE_HEADERS, agent_events, require_conversation

router = APIRouter(prefix="/v1", tags=["chat"])

MODEL = "cryptosense-agent"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class CompletionRequest(BaseModel):
    """The OpenAI request; options the agent does not use (temperature, ...) are accepted
    and ignored, since the agent keeps its own budget."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": "How risky is ETH right now?"}],
                    "stream": False,
                }
            ]
        },
    )
    model: str = MODEL
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=100)]
    stream: bool = False
    conversation_id: Annotated[str | None, Field(max_length=64)] = None


class Choice(BaseModel):
    index: int = 0
    message: dict[str, str]
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int
    total_tokens: int


class Completion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    conversation_id: str | None
    cryptosense: Answer = Field(description="the agent's structured answer")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "cryptosense"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, str):
        return content
    parts = content or []
    return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def question_of(req: CompletionRequest) -> str:
    """The last user message's text; 422 when there is none or it is not 1..1000 chars."""
    for i in range(len(req.messages) - 1, -1, -1):
        if req.messages[i].role == "user":
            text = _text(req.messages[i].content).strip()
            if not text:
                raise invalid(("body", "messages", str(i), "content"), "the question is empty")
            if len(text) > 1000:
                raise invalid(
                    ("body", "messages", str(i), "content"), "longer than 1000 characters"
                )
            return text
    raise invalid(("body", "messages"), "no user message")


def sources(answer: Answer) -> str:
    """The numbered sources block appended to the narrative."""
    if not answer.citations:
        return ""
    lines = [
        f"[{n}] {c.title} ({c.source}{', ' + c.url if c.url else ''})"
        for n, c in enumerate(answer.citations, 1)
    ]
    return "\n\nSources:\n" + "\n".join(lines)


def _chunk(cid: str, created: int, delta: dict[str, Any], **extra: Any) -> str:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}],
        **extra,
    }
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


@router.get("/models", response_model=ModelList)
def models() -> ModelList:
    """The one model this endpoint serves: the agent."""
    return ModelList(data=[ModelCard(id=MODEL, created=0)])


@router.post(
    "/chat/completions",
    response_model=Completion,
    responses={
        200: {
            "description": "a chat.completion, or with stream=true text/event-stream of "
            "chat.completion.chunk events ending with 'data: [DONE]'",
            "content": {"text/event-stream": {}},
        },
        **problem_responses(
            {
                404: "no conversation with that id",
                422: "no user message, an empty or too long one, or a malformed request",
            }
        ),
    },
)
async def completions(
    req: CompletionRequest, request: Request, agent: AgentDep
) -> Completion | StreamingResponse:
    """The agent answering the last user message, in the OpenAI chat completions shape."""
    question = question_of(req)
    require_conversation(agent, req.conversation_id)
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    events = agent_events(request, agent, question, conversation_id=req.conversation_id)
    if req.stream:
        return StreamingResponse(
            _stream(events, cid, created), media_type="text/event-stream", headers=SSE_HEADERS
        )
    answer: Answer | None = None
    error = "the agent gave no answer"
    async for event in events:
        if event.type == "answer":
            answer = event.answer
        elif event.type == "error":
            error = event.message
    if answer is None:
        if error.startswith("internal error"):
            raise HTTPException(500, error)
        raise invalid(("body", "messages"), error)
    return Completion(
        id=cid,
        created=created,
        model=MODEL,
        choices=[
            Choice(message={"role": "assistant", "content": answer.narrative + sources(answer)})
        ],
        usage=Usage(completion_tokens=answer.tokens, total_tokens=answer.tokens),
        conversation_id=answer.conversation_id,
        cryptosense=answer,
    )


async def _stream(events: AsyncIterator[Any], cid: str, created: int) -> AsyncIterator[str]:
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    streamed = False
    async for event in events:
        if event.type == "token":
            streamed = True
            yield _chunk(cid, created, {"content": event.text})
        elif event.type == "answer":
            a: Answer = event.answer
            tail = ("" if streamed else a.narrative) + sources(a)
            if tail:
                yield _chunk(cid, created, {"content": tail})
            yield _chunk(
                cid,
                created,
                {},
                finish="stop",
                conversation_id=a.conversation_id,
                cryptosense=a.model_dump(mode="json"),
                usage={"prompt_tokens": 0, "completion_tokens": a.tokens, "total_tokens": a.tokens},
            )
        else:
            yield _chunk(cid, created, {"content": f"\n\n[error: {event.message}]"})
            yield _chunk(cid, created, {}, finish="stop")
    yield "data: [DONE]\n\n"
