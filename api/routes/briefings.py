"""``GET /v1/briefings`` and ``GET /v1/briefings/{date}``: the agent's daily briefings.

A briefing is served as Markdown (``text/markdown``), self-contained HTML (``text/html``,
with its charts inline) or JSON with both; ``?format=markdown|html|json`` chooses, else the
``Accept`` header does (Markdown when it names none of them). The HTML quotes headlines
from the web: it is served with a Content-Security-Policy that runs no script at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel

from api.deps import StoreDep
from api.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["briefings"])

HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
Format = Literal["markdown", "html", "json"]


class BriefingItem(BaseModel):
    day: date
    asof: datetime
    seed: int
    sha256: str
    created_at: datetime
    url: str


class BriefingList(BaseModel):
    briefings: list[BriefingItem]


class BriefingOut(BaseModel):
    day: date
    asof: datetime
    seed: int
    sha256: str
    created_at: datetime
    markdown: str
    html: str


@router.get("/briefings", response_model=BriefingList)
def list_briefings(store: StoreDep) -> BriefingList:
    """Every stored briefing, newest day first (without its text)."""
    return BriefingList(
        briefings=[
            BriefingItem(**m.model_dump(), url=f"/v1/briefings/{m.day.isoformat()}")
            for m in store.briefings.list()
        ]
    )


MEDIA: dict[str, Format] = {
    "text/markdown": "markdown",
    "text/html": "html",
    "application/json": "json",
}


def _format(request: Request, format: Format | None) -> Format:
    """``format`` when given, else the Accept header's preferred kind (Markdown by default)."""
    if format is not None:
        return format
    best: tuple[float, Format] = (0.0, "markdown")
    for part in request.headers.get("accept", "").lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        fmt = MEDIA.get(media)
        if fmt is not None and q > best[0]:
            best = (q, fmt)
    return best[1]


@router.get(
    "/briefings/{day}",
    response_model=BriefingOut,
    responses={
        200: {
            "description": "Markdown, HTML or JSON (format, else Accept)",
            "content": {"text/markdown": {}, "text/html": {}},
        },
        **problem_responses(
            {404: "no briefing for that day", 422: "a day that is not YYYY-MM-DD, or a bad format"}
        ),
    },
)
def get_briefing(
    request: Request,
    store: StoreDep,
    day: Annotated[date, Path(description="YYYY-MM-DD (UTC)", examples=["2024-03-01"])],
    format: Annotated[Format | None, Query(description="overrides Accept")] = None,
) -> BriefingOut | PlainTextResponse | HTMLResponse:
    """One day's briefing."""
    b = store.briefings.get(day)
    if b is None:
        raise HTTPException(404, f"no briefing for {day.isoformat()} (see /v1/briefings)")
    fmt = _format(request, format)
    if fmt == "html":
        return HTMLResponse(
            b.html,
            headers={"Content-Security-Policy": HTML_CSP, "X-Content-Type-Options": "nosniff"},
        )
    if fmt == "markdown":
        return PlainTextResponse(b.markdown, media_type="text/markdown; charset=utf-8")
    return BriefingOut(
        day=b.day,
        asof=b.asof,
        seed=b.seed,
        sha256=b.sha256,
        created_at=b.created_at,
        markdown=b.markdown,
        html=b.html,
    )
