"""``GET /v1/sentiment/{asset}``: the as-of sentiment index of one asset; ``GET /v1/sentiment``:
the latest value of every asset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.answers import AnswerCache
from api.deps import ClockDep, IndexSettingsDep, ModelVersionDep, Services, StoreDep
from api.params import UtcTime
from api.problems import invalid, problem_responses
from api.schemas import (
    Family,
    LatestSentiment,
    SentimentLatest,
    SentimentPoint,
    SentimentSeries,
)
from core.assets import require_known_asset
from core.records import Frequency
from core.settings import IndexSettings
from core.store import Store
from nlp.index import ServedPoint, series

router = APIRouter(prefix="/v1", tags=["sentiment"])


@router.get(
    "/sentiment",
    response_model=SentimentLatest,
    responses=problem_responses({422: "a bad freq or family"}),
)
def sentiment_latest(
    store: StoreDep,
    index_settings: IndexSettingsDep,
    model_version: ModelVersionDep,
    clock: ClockDep,
    freq: Annotated[Frequency, Query(description="bucket size")] = Frequency.HOUR,
    family: Annotated[Family, Query(description="source family")] = "all",
) -> SentimentLatest:
    """The newest point of every asset a stored document mentions, by symbol."""
    now = clock()
    latest = []
    for asset in store.documents.assets():
        served = (
            []
            if model_version is None
            else series(
                store,
                model_version,
                index_settings,
                asset=asset,
                freq=freq,
                family=family,
                limit=1,
                now=now,
            )
        )
        latest.append(LatestSentiment(asset=asset, point=_point(served[-1]) if served else None))
    return SentimentLatest(freq=freq, family=family, model_version=model_version, assets=latest)


@router.get(
    "/sentiment/{asset}",
    response_model=SentimentSeries,
    responses=problem_responses(
        {
            404: "no stored document mentions the asset",
            422: "a bad freq, family or limit, a time that is not ISO 8601 or out of range, "
            "or an end before the start",
        }
    ),
)
async def get_sentiment_series(
    request: Request,
    asset: Annotated[str, Path(description="asset symbol, any case, e.g. BTC or btc")],
    freq: Annotated[Frequency, Query(description="bucket size")] = Frequency.HOUR,
    family: Annotated[Family, Query(description="source family")] = "all",
    start: Annotated[UtcTime | None, Query(description="buckets starting at or after")] = None,
    end: Annotated[
        UtcTime | None, Query(description="buckets starting before (equal to start: none)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="newest N points")] = 500,
) -> Response:
    """Complete buckets as stored (final, as-of their end) and the still-open bucket computed
    now (``partial: true``), oldest first. The window ``[start, end)`` is half-open: an equal
    start and end is an empty window (no points), an end before the start is a 422. An
    answer may be reused for up to ``api.cache_s`` seconds while the index and the model are
    unchanged (the open bucket's ``asof`` says when it was computed)."""
    if start is not None and end is not None and end < start:
        raise invalid(("query", "end"), "must not be before start")
    services: Services = request.app.state.services
    version = services.model_version()  # a model switch changes every answer at once
    key = (
        "series",
        asset.upper(),
        freq,
        family,
        start,
        end,
        limit,
        version,
        _index_version(request),
    )
    cache: AnswerCache = request.app.state.answers
    index_settings = request.app.state.settings.index

    def compute() -> bytes:
        answer = sentiment_series(
            asset=require_known_asset(services.store, asset),
            store=services.store,
            index_settings=index_settings,
            model_version=version,
            clock=services.clock,
            freq=freq,
            family=family,
            start=start,
            end=end,
            limit=limit,
        )
        return answer.model_dump_json().encode()

    return Response(await cache.get(key, compute), media_type="application/json")


def _index_version(request: Request) -> int | None:
    """The newest event the API has seen: it changes whenever an index update is published."""
    broker = getattr(request.app.state, "broker", None)
    return None if broker is None else broker.cursor


def sentiment_series(
    asset: str,
    store: Store,
    index_settings: IndexSettings,
    model_version: str | None,
    clock: Callable[[], datetime],
    freq: Frequency = Frequency.HOUR,
    family: Family = "all",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> SentimentSeries:
    """The series of a known asset (the route's answer; MCP's ``sentiment_index`` too)."""
    if start is not None and end is not None and end < start:
        raise invalid(("query", "end"), "must not be before start")
    served = (
        []
        if model_version is None
        else series(
            store,
            model_version,
            index_settings,
            asset=asset,
            freq=freq,
            family=family,
            start=start,
            end=end,
            limit=limit,
            now=clock(),
        )
    )
    return SentimentSeries(
        asset=asset,
        freq=freq,
        family=family,
        model_version=model_version,
        points=[_point(s) for s in served],
    )


def _point(served: ServedPoint) -> SentimentPoint:
    p = served.point
    return SentimentPoint(
        ts=p.ts,
        asof=p.asof,
        value=p.mean,
        index=p.index,
        n_docs=p.n_docs,
        mean=p.mean,
        dispersion=p.dispersion,
        share_bullish=p.share_bullish,
        share_bearish=p.share_bearish,
        weighted_mean=p.weighted_mean,
        zscore=p.zscore,
        partial=served.partial,
    )
