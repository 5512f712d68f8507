"""``GET /v1/search``: semantic search over the embedded documents, with citations.

Filters by asset, source, family and publication window ``[since, until)`` (half-open: equal
bounds are an empty window and answer no stories), and ``asof`` restricts the search to what
the service had ingested by then, so a backtest or a "what did we know on that day" question
cannot see later documents. An asset no stored document mentions is a 404, as on every route.
Reposts and syndicated copies come back as one story with a ``duplicates`` count unless
``collapse=false``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import ServicesDep
from api.params import UtcTime
from api.problems import invalid, problem_responses
from api.schemas import SearchResults, StoryOut
from core.assets import require_known_asset

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResults,
    responses=problem_responses(
        {
            404: "no stored document mentions one of the assets",
            422: "an empty query, a time that is not ISO 8601 or out of range, or an until "
            "before the since",
            503: "vector search is off, its store is unavailable, or the database is unreachable",
        }
    ),
)
def search(
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="plain words")],
    asset: Annotated[list[str], Query(description="any of these assets")] = [],  # noqa: B006
    source: Annotated[list[str], Query(description="any of these sources")] = [],  # noqa: B006
    family: Annotated[list[Literal["news", "reddit"]], Query()] = [],  # noqa: B006
    since: Annotated[UtcTime | None, Query(description="published at or after")] = None,
    until: Annotated[
        UtcTime | None, Query(description="published before (equal to since: no stories)")
    ] = None,
    asof: Annotated[
        UtcTime | None, Query(description="search only what had been ingested by then")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    collapse: Annotated[bool, Query(description="copies of one story as one result")] = True,
    same_asset: Annotated[bool, Query(description="copies must share an asset")] = False,
) -> SearchResults:
    """Stories nearest in meaning to ``q``, best first, each with what cites it."""
    from nlp.vectors.base import SearchFilter, VectorStoreError
    from nlp.vectors.search import QueryError, story_fields

    if services.search is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="vector search is off (vector.in_service = false)",
        )
    if not q.strip():
        raise invalid(("query", "q"), "the query is empty")
    if since is not None and until is not None and until < since:
        raise invalid(("query", "until"), "must not be before since")
    assets = tuple(require_known_asset(services.store, a) for a in asset if a.strip())
    filters = SearchFilter(
        assets=assets,
        sources=tuple(source),
        families=tuple(family),
        published_since=since,
        published_until=until,
        asof=asof,
    )
    try:
        stories = services.search.search(
            q,
            filters,
            limit=limit,
            collapse=collapse,
            same_asset=same_asset,
        )
    except QueryError as err:
        raise invalid(("query", "q"), str(err)) from err
    except VectorStoreError as err:  # SearchUnavailable, or the engine failing mid-search
        log.warning("search unavailable: %s", err)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)) from err
    return SearchResults(query=q, asof=asof, stories=[StoryOut(**story_fields(s)) for s in stories])
