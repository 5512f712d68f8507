"""``GET /v1/prices/{asset}``: stored candles of the pair whose base is the asset.

The pair comes from the ``prices`` settings (exchange ``bitstamp``, pairs ``BTC/USD``...),
as fusion reads it (:func:`fusion.store_provider.pair_assets`); the dashboard overlays the
closes on the sentiment index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from api.deps import StoreDep
from api.problems import problem_responses
from core.settings import PriceSettings
from core.store import Store

router = APIRouter(prefix="/v1", tags=["market"])


class PriceBar(BaseModel):
    ts: datetime = Field(description="the bar's open time (UTC)")
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(description="volume in the base asset")


class PriceSeries(BaseModel):
    asset: str
    exchange: str
    pair: str
    timeframe: str
    bars: list[PriceBar] = Field(description="oldest first; the newest N (limit)")


def price_settings(request: Request) -> PriceSettings:
    prices: PriceSettings = request.app.state.settings.prices
    return prices


def price_series(
    store: Store, prices: PriceSettings, asset: str, timeframe: str, limit: int
) -> PriceSeries:
    """The newest ``limit`` bars of the asset's pair; 404 when no pair is configured for it."""
    from fusion.store_provider import pair_assets

    symbol = asset.strip().upper()
    pair = pair_assets(prices.pairs).get(symbol)
    if pair is None:
        raise HTTPException(
            404, f"no price pair configured for {symbol!r} (prices.pairs: {list(prices.pairs)})"
        )
    exchange = prices.exchange.strip().lower()
    rows = store.market.candle_rows(exchange, pair, timeframe)[-limit:]
    return PriceSeries(
        asset=symbol,
        exchange=exchange,
        pair=pair,
        timeframe=timeframe,
        bars=[
            PriceBar(ts=ts, open=o, high=h, low=lo, close=c, volume=v)
            for ts, o, h, lo, c, v in rows
        ],
    )


@router.get(
    "/prices/{asset}",
    response_model=PriceSeries,
    responses=problem_responses(
        {404: "no price pair is configured for the asset", 422: "a bad timeframe or limit"}
    ),
)
def get_prices(
    store: StoreDep,
    prices: Annotated[PriceSettings, Depends(price_settings)],
    asset: str,
    timeframe: Annotated[str, Query(pattern=r"^\d{1,3}[mhdw]$", description="e.g. 1h, 1d")] = "1h",
    limit: Annotated[int, Query(ge=1, le=5000, description="newest N bars")] = 500,
) -> PriceSeries:
    """Stored candles, oldest first (an empty list when none are stored yet)."""
    return price_series(store, prices, asset, timeframe, limit)
