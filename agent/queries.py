"""Structured queries: a pydantic schema per kind and the tool calls that answer it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import AgentInputError
from agent.tools import MAX_WINDOW_H


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _sym(v: str) -> str:
    return v.strip().upper()


class MarketContext(_Query):
    asset: str = Field(min_length=1, max_length=12)
    horizon_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)

    @field_validator("asset")
    @classmethod
    def _u(cls, v: str) -> str:
        return _sym(v)


class RiskAssessment(_Query):
    asset: str | None = Field(default=None, max_length=12)
    portfolio: list[str] = Field(default_factory=list, max_length=5)
    window_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)

    @model_validator(mode="after")
    def _one(self) -> RiskAssessment:
        self.portfolio = [_sym(a) for a in self.portfolio]
        if self.asset:
            self.asset = _sym(self.asset)
        if not self.asset and not self.portfolio:
            raise ValueError("give an asset or a portfolio")
        return self

    def assets(self) -> list[str]:
        return list(dict.fromkeys(([self.asset] if self.asset else []) + self.portfolio))


class SentimentDrivers(_Query):
    asset: str = Field(min_length=1, max_length=12)
    window_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)

    @field_validator("asset")
    @classmethod
    def _u(cls, v: str) -> str:
        return _sym(v)


class Compare(_Query):
    assets: list[str] = Field(min_length=2, max_length=5)
    window_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)

    @field_validator("assets")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(_sym(a) for a in v))


class TopMovers(_Query):
    window_hours: int = Field(default=24, ge=1, le=MAX_WINDOW_H)
    limit: int = Field(default=5, ge=1, le=10)


QUERY_KINDS: dict[str, type[BaseModel]] = {
    "market_context": MarketContext,
    "risk_assessment": RiskAssessment,
    "sentiment_drivers": SentimentDrivers,
    "compare": Compare,
    "top_movers": TopMovers,
}


def parse(kind: str, params: dict[str, Any]) -> BaseModel:
    schema = QUERY_KINDS.get(kind)
    if schema is None:
        raise AgentInputError(f"unknown query kind {kind!r}; kinds: {', '.join(QUERY_KINDS)}")
    try:
        return schema.model_validate(params)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "params"
        raise AgentInputError(f"{kind}: {where}: {first['msg']}") from None


def query_assets(q: BaseModel) -> list[str]:
    if isinstance(q, RiskAssessment):
        return q.assets()
    if isinstance(q, Compare):
        return list(q.assets)
    asset = getattr(q, "asset", None)
    return [asset] if asset else []


def plan(q: BaseModel, topic: str = "") -> list[tuple[str, dict[str, Any]]]:
    """The tool calls (name, args) that answer ``q``: at most a dozen, all read-only."""
    if isinstance(q, MarketContext):
        w = q.horizon_hours
        a = q.asset
        return [
            ("sentiment_index", {"asset": a, "window_hours": w}),
            ("price_summary", {"asset": a, "window_hours": w}),
            ("onchain_summary", {"asset": a}),
            ("fusion_signal", {"asset": a}),
            (
                "search_news",
                {"query": topic or f"{a} market", "asset": a, "window_hours": w, "limit": 3},
            ),
        ]
    if isinstance(q, RiskAssessment):
        calls: list[tuple[str, dict[str, Any]]] = []
        for a in q.assets():
            calls += [
                ("risk_gate", {"asset": a}),
                ("price_summary", {"asset": a, "window_hours": q.window_hours}),
                ("sentiment_index", {"asset": a, "window_hours": q.window_hours}),
                ("fusion_signal", {"asset": a}),
            ]
        return calls
    if isinstance(q, SentimentDrivers):
        w = q.window_hours
        return [
            ("sentiment_index", {"asset": q.asset, "window_hours": w}),
            (
                "search_news",
                {
                    "query": topic or f"{q.asset} news",
                    "asset": q.asset,
                    "window_hours": w,
                    "limit": 5,
                },
            ),
        ]
    if isinstance(q, Compare):
        calls = []
        for a in q.assets:
            calls += [
                ("sentiment_index", {"asset": a, "window_hours": q.window_hours}),
                ("price_summary", {"asset": a, "window_hours": q.window_hours}),
            ]
        return calls
    if isinstance(q, TopMovers):
        return [("top_movers", {"window_hours": q.window_hours, "limit": q.limit})]
    raise AgentInputError(f"no plan for {type(q).__name__}")
