"""``GET /v1/sentiment/{asset}``: the as-of sentiment index of one asset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import ClockDep, KnownAsset, ModelVersionDep, SettingsDep, StoreDep
from api.schemas import Error, Family, SentimentPoint, SentimentSeries
from core.records import Frequency
from core.times import ensure_utc
from nlp.index import ServedPoint, series

router = APIRouter(prefix="/v1", tags=["sentiment"])


@router.get(
    "/sentiment/{asset}",
    response_model=SentimentSeries,
    responses={404: {"model": Error, "description": "no stored document mentions the asset"}},
)
def sentiment_series(
    asset: KnownAsset,
    store: StoreDep,
    settings: SettingsDep,
    model_version: ModelVersionDep,
    clock: ClockDep,
    freq: Annotated[Frequency, Query(description="bucket size")] = Frequency.HOUR,
    family: Annotated[Family, Query(description="source family")] = "all",
    start: Annotated[datetime | None, Query(description="first bucket start (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(description="buckets starting before this")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="newest N points")] = 500,
) -> SentimentSeries:
    """Complete buckets as stored (final, as-of their end) and the still-open bucket computed
    now (``partial: true``), oldest first."""
    if start is not None and end is not None and ensure_utc(start) >= ensure_utc(end):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="start must be before end"
        )
    served = (
        []
        if model_version is None
        else series(
            store,
            model_version,
            settings.index,
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
