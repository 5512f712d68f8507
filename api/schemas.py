"""Response bodies of the public API (pydantic), one per endpoint, documented in /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.records import Frequency

Family = Literal["all", "news", "reddit"]


class SentimentPoint(BaseModel):
    ts: datetime = Field(description="start of the bucket (UTC)")
    asof: datetime = Field(
        description="when this value became known: the bucket's end, or the time it was "
        "computed for the still-open bucket"
    )
    value: float = Field(description="mean sentiment of the bucket's documents, in [-1, 1]")
    index: float = Field(description="EWMA-smoothed index, 0 (bearish) .. 50 .. 100 (bullish)")
    n_docs: int
    mean: float
    dispersion: float = Field(description="standard deviation of the bucket's scores")
    share_bullish: float
    share_bearish: float
    weighted_mean: float = Field(description="engagement-weighted mean sentiment")
    zscore: float | None = Field(
        description="bucket mean against the asset's trailing baseline; null until enough history"
    )
    partial: bool = Field(description="true for the still-open bucket: provisional, may change")


class SentimentSeries(BaseModel):
    asset: str
    freq: Frequency
    family: Family
    model_version: str | None = Field(description="model whose scores built the series")
    points: list[SentimentPoint]


class LatestSentiment(BaseModel):
    asset: str
    point: SentimentPoint | None = Field(
        description="the newest point (the open bucket's, partial, when it has documents); "
        "null when the asset has no scored document"
    )


class SentimentLatest(BaseModel):
    freq: Frequency
    family: Family
    model_version: str | None = Field(description="model whose scores built the values")
    assets: list[LatestSentiment]


class AssetCount(BaseModel):
    asset: str
    documents: int


class AssetList(BaseModel):
    assets: list[AssetCount]


class DocumentOut(BaseModel):
    id: str
    url: str | None
    title: str
    source: str = Field(description="the source that first brought the document")
    sources: list[str] = Field(description="every source the document arrived through")
    family: str
    assets: list[str]
    published_at: datetime
    ingested_at: datetime
    label: str
    score: float = Field(description="p_positive - p_negative, in [-1, 1]")


class DocumentList(BaseModel):
    model_version: str | None
    documents: list[DocumentOut]


class SourceHealth(BaseModel):
    name: str
    status: Literal["ok", "failing", "paused", "never run"]
    circuit: Literal["open", "closed"]
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    circuit_open_until: datetime | None
    items_today: int


class SourceList(BaseModel):
    sources: list[SourceHealth]


class ModelUpgrade(BaseModel):
    state: Literal["waiting", "training", "loading", "ready", "done", "failed"] = Field(
        description="waiting (another process trains), training, loading, ready (scoring "
        "everything before the switch), done (switched), failed (the old model serves on)"
    )
    tier: str = Field(description="the quality tier being trained, e.g. 'full'")
    target: str = Field(description="what is trained, e.g. 'full model from tfns_train.csv'")
    from_version: str | None = None
    to_version: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "error"]
    db: str = Field(description="'ok', or why the database cannot be reached")
    dialect: str
    model_version: str | None = None
    model_upgrade: ModelUpgrade | None = Field(
        default=None, description="the background sentiment model upgrade, when there is one"
    )
    documents: int | None = None
    scores: int | None = None
    index_points: int | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(
        description="each check and its result: 'ok', or why it is not ready"
    )


class StoryOut(BaseModel):
    id: str = Field(description="the story's earliest-published document")
    score: float = Field(description="best cosine of any copy to the query")
    title: str
    url: str | None
    assets: list[str]
    source: str | None
    published_at: datetime | None
    ingested_at: datetime | None = Field(description="when the service stored it")
    sentiment: float | None = Field(description="p(positive) - p(negative) of its latest score")
    label: str | None
    duplicates: int = Field(description="reposts and syndicated copies collapsed into it")
    duplicate_ids: list[str]


class SearchResults(BaseModel):
    query: str
    asof: datetime | None = Field(description="only documents ingested by then were searched")
    stories: list[StoryOut]


class Problem(BaseModel):
    """Every error answer: RFC 9457 problem details, served as ``application/problem+json``."""

    type: str = Field(
        default="about:blank",
        description="a URI naming the kind of problem; about:blank: the status says it all",
    )
    title: str = Field(description="the HTTP status phrase, e.g. 'Not Found'")
    status: int = Field(description="the HTTP status code, repeated for clients that log bodies")
    detail: str = Field(description="what went wrong, in one line for a person to read")
    instance: str | None = Field(default=None, description="the path that was asked for")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: e.g. ['query', 'start'] or ['path', 'asset']")
    msg: str = Field(description="what is wrong with it")
    type: str = Field(description="a machine-readable kind, e.g. 'value_error', 'missing'")


class ValidationProblem(Problem):
    """A 422: the problem, plus one entry per parameter that was refused."""

    errors: list[FieldError]
