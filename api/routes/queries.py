"""``POST /v1/query/{kind}``: the agent's structured queries as plain JSON.

One route per kind (``market_context``, ``risk_assessment``, ``sentiment_drivers``,
``compare``, ``top_movers``), each with the agent's own pydantic schema as its body, so the
OpenAPI document shows every kind's parameters. ``asof`` (query parameter) answers with what
was known then. The answer is the agent's :class:`agent.answer.Answer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from agent.answer import Answer
from agent.errors import AgentInputError
from agent.queries import QUERY_KINDS
from api.agent_deps import AgentDep
from api.params import UtcTime
from api.problems import invalid, problem_responses

router = APIRouter(prefix="/v1/query", tags=["query"])

EXAMPLES: dict[str, dict[str, Any]] = {
    "market_context": {"asset": "BTC", "horizon_hours": 168},
    "risk_assessment": {"portfolio": ["BTC", "ETH"], "window_hours": 168},
    "sentiment_drivers": {"asset": "ETH", "window_hours": 72},
    "compare": {"assets": ["BTC", "ETH"], "window_hours": 168},
    "top_movers": {"window_hours": 24, "limit": 5},
}

RESPONSES = problem_responses(
    {422: "parameters the kind refuses, an asset not covered, or a bad asof"}
)


def _route(kind: str, schema: type[BaseModel]) -> Callable[..., Any]:
    async def run(
        params: schema,  # type: ignore[valid-type]
        agent: AgentDep,
        asof: Annotated[UtcTime | None, Query(description="answer as of then")] = None,
    ) -> Answer:
        try:
            body: BaseModel = params
            return await run_in_threadpool(
                agent.query, kind, body.model_dump(mode="json"), asof=asof
            )
        except AgentInputError as err:
            raise invalid(("body",), str(err)) from err

    run.__annotations__["params"] = schema  # a real class, not the string "schema"
    run.__name__ = f"query_{kind}"
    run.__doc__ = f"The agent's ``{kind}`` answer: figures, narrative and citations."
    return run


for _kind, _schema in QUERY_KINDS.items():
    router.add_api_route(
        f"/{_kind}",
        _route(_kind, _schema),
        methods=["POST"],
        response_model=Answer,
        responses=RESPONSES,
        openapi_extra={
            "requestBody": {"content": {"application/json": {"example": EXAMPLES.get(_kind, {})}}}
        },
    )


@router.post("/{kind}", include_in_schema=False)
def unknown_kind(kind: str) -> None:
    raise HTTPException(404, f"unknown query kind {kind!r}; kinds: {', '.join(QUERY_KINDS)}")
