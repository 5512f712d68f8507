"""``GET /v1/search``: semantic search over the embedded documents, with citations.

Filters by asset, source, family and publication window, and ``asof`` restricts the search
to what the service had ingested by then, so a backtest or a "what did we know on that day"
question cannot see later documents. Reposts and syndicated copies come back as one story
with a ``duplicates`` count unless ``collapse=false``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import ServicesDep
from api.schemas import Error, SearchResults, StoryOut
from core.times import ensure_utc

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResults,
    responses={
        422: {"description": "an empty query or a window that ends before it starts"},
        503: {"model": Error, "description": "vector search is off or its store is unavailable"},
    },
)
def search(
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="plain words")],
    asset: Annotated[list[str], Query(description="any of these assets")] = [],  # noqa: B006
    source: Annotated[list[str], Query(description="any of these sources")] = [],  # noqa: B006
    family: Annotated[list[Literal["news", "reddit"]], Query()] = [],  # noqa: B006
    since: Annotated[datetime | None, Query(description="published at or after")] = None,
    until: Annotated[datetime | None, Query(description="published before")] = None,
    asof: Annotated[
        datetime | None, Query(description="search only what had been ingested by then")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    collapse: Annotated[bool, Query(description="copies of one story as one result")] = True,
    same_asset: Annotated[bool, Query(description="copies must share an asset")] = False,
) -> SearchResults:
    """Stories nearest in meaning to ``q``, best first, each with what cites it."""
    from nlp.vectors.base import SearchFilter
    from nlp.vectors.search import story_fields
    from nlp.vectors.service import SearchUnavailable

    if services.search is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="vector search is off (vector.in_service = false)",
        )
    if not q.strip():
        raise HTTPException(422, detail="the query is empty")
    since, until, asof = (ensure_utc(t) if t is not None else None for t in (since, until, asof))
    try:
        filters = SearchFilter(
            assets=tuple(a.strip().upper() for a in asset if a.strip()),
            sources=tuple(source),
            families=tuple(family),
            published_since=since,
            published_until=until,
            asof=asof,
        )
    except ValueError as err:
        raise HTTPException(422, detail=str(err)) from err
    try:
        stories = services.search.search(
            q,
            filters,
            limit=limit,
            collapse=collapse,
            same_asset=same_asset,
        )
    except SearchUnavailable as err:
        log.warning("search unavailable: %s", err)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)) from err
    return SearchResults(query=q, asof=asof, stories=[StoryOut(**story_fields(s)) for s in stories])
