"""``GET /v1/sentiment/{asset}``: the as-of sentiment index of one asset; ``GET /v1/sentiment``:
the latest value of every asset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ClockDep, IndexSettingsDep, KnownAsset, ModelVersionDep, StoreDep
from api.params import UtcTime
from api.problems import invalid, problem_responses
from api.schemas import (
    Family,
    LatestSentiment,
    SentimentLatest,
    SentimentPoint,
    SentimentSeries,
)
from core.records import Frequency
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
def sentiment_series(
    asset: KnownAsset,
    store: StoreDep,
    index_settings: IndexSettingsDep,
    model_version: ModelVersionDep,
    clock: ClockDep,
    freq: Annotated[Frequency, Query(description="bucket size")] = Frequency.HOUR,
    family: Annotated[Family, Query(description="source family")] = "all",
    start: Annotated[UtcTime | None, Query(description="buckets starting at or after")] = None,
    end: Annotated[
        UtcTime | None, Query(description="buckets starting before (equal to start: none)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="newest N points")] = 500,
) -> SentimentSeries:
    """Complete buckets as stored (final, as-of their end) and the still-open bucket computed
    now (``partial: true``), oldest first. The window ``[start, end)`` is half-open: an equal
    start and end is an empty window (no points), an end before the start is a 422."""
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
