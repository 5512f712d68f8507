"""The reads MCP exposes, each through the REST route's own function.

A tool calls the function FastAPI calls for the matching route, with the same services,
so ``sentiment_index("BTC")`` and ``GET /v1/sentiment/BTC`` give the same figures to the
digit. What FastAPI would refuse (an unknown asset, a bad time, an end before its start, a
service that is off) is raised here as :class:`ReadError` with the route's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from api.deps import Services
from api.routes import briefings, documents, market, search, sentiment, signals
from core.assets import require_known_asset
from core.errors import UserFacingError
from core.records import Frequency
from core.settings import Settings
from core.times import parse_utc

T = TypeVar("T")


class ReadError(Exception):
    """A read refused for a reason the caller can act on (the message says which)."""


def guarded(fn: Callable[[], T]) -> T:
    """``fn()``, with every refusal turned into a :class:`ReadError` that says why."""
    try:
        return fn()
    except HTTPException as err:
        raise ReadError(str(err.detail)) from err
    except RequestValidationError as err:
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "argument"
        raise ReadError(f"{where}: {first.get('msg')}") from err
    except UserFacingError as err:  # unknown asset, a time that is not ISO 8601, ...
        raise ReadError(str(err)) from err
    except OperationalError as err:
        raise ReadError("database unavailable, try again") from err


def _time(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_utc(value)
    except ValueError as err:
        raise ReadError(f"{name}: {err}") from err


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


class Reads:
    """The reads over one app's services (looked up on each call: the app builds them in
    its lifespan) and its settings."""

    def __init__(self, services: Callable[[], Services], settings: Settings) -> None:
        self._services = services
        self._settings = settings

    def assets(self) -> dict[str, Any]:
        return guarded(lambda: _json(documents.list_assets(self._services().store)))

    def sentiment_index(
        self,
        asset: str,
        freq: Literal["1h", "1d"] = "1h",
        family: Literal["all", "news", "reddit"] = "all",
        start: str | None = None,
        end: str | None = None,
        limit: int = 48,
    ) -> dict[str, Any]:
        svc = self._services()
        return guarded(
            lambda: _json(
                sentiment.sentiment_series(
                    asset=require_known_asset(svc.store, asset),
                    store=svc.store,
                    index_settings=self._settings.index,
                    model_version=svc.model_version(),
                    clock=svc.clock,
                    freq=Frequency(freq),
                    family=family,
                    start=_time(start, "start"),
                    end=_time(end, "end"),
                    limit=limit,
                )
            )
        )

    def documents(
        self, asset: str | None = None, since: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        svc = self._services()
        return guarded(
            lambda: _json(
                documents.recent_documents(
                    store=svc.store,
                    model_version=svc.model_version(),
                    asset=asset,
                    since=_time(since, "since"),
                    limit=limit,
                )
            )
        )

    def search(
        self,
        q: str,
        asset: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        asof: str | None = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        return guarded(
            lambda: _json(
                search.search(
                    services=self._services(),
                    q=q,
                    asset=list(asset or []),
                    source=[],
                    family=[],
                    since=_time(since, "since"),
                    until=_time(until, "until"),
                    asof=_time(asof, "asof"),
                    limit=limit,
                    collapse=True,
                    same_asset=False,
                )
            )
        )

    def signals(self, asset: str | None = None) -> dict[str, Any]:
        store = self._services().store

        def read() -> dict[str, Any]:
            if asset is None:
                return _json(signals.list_signals(store))
            return _json(
                signals.SignalList(
                    signals=signals.current_signals(store, require_known_asset(store, asset))
                )
            )

        return guarded(read)

    def signal_history(
        self,
        asset: str,
        timeframe: str = "1d",
        start: str | None = None,
        end: str | None = None,
    ) -> dict[str, Any]:
        services = self._services()
        store = services.store
        return guarded(
            lambda: _json(
                signals.asset_signals(
                    asset=require_known_asset(store, asset),
                    store=store,
                    clock=services.clock,
                    timeframe=timeframe,
                    start=_time(start, "start"),
                    end=_time(end, "end"),
                )
            )
        )

    def prices(self, asset: str, timeframe: str = "1h", limit: int = 48) -> dict[str, Any]:
        store = self._services().store
        return guarded(
            lambda: _json(
                market.price_series(store, self._settings.prices, asset, timeframe, limit)
            )
        )

    def briefings(self) -> dict[str, Any]:
        return guarded(lambda: _json(briefings.list_briefings(self._services().store)))

    def briefing(self, day: str | None = None) -> dict[str, Any]:
        """One day's briefing as Markdown (the newest when ``day`` is None)."""
        store = self._services().store

        def read() -> dict[str, Any]:
            if day is None:
                listed = store.briefings.list()
                if not listed:
                    raise ReadError("no briefing stored yet")
                wanted = listed[0].day
            else:
                try:
                    wanted = date.fromisoformat(day.strip())
                except ValueError as err:
                    raise ReadError(f"day: {day!r} is not a date (YYYY-MM-DD)") from err
            b = store.briefings.get(wanted)
            if b is None:
                raise ReadError(f"no briefing for {wanted.isoformat()} (see briefings)")
            return {"day": b.day.isoformat(), "asof": b.asof.isoformat(), "markdown": b.markdown}

        return guarded(read)
