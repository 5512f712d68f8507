"""Frozen typed records: what every stage passes to the next.

Raw feed entries, Reddit things and exchange rows become records once, at the edge (the
collectors); everything inside speaks records. Every record that can reach an index carries
``published_at`` (when it happened) and ``ingested_at`` (when we saw it); the index at time T
only ever reads records with ``ingested_at <= T``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.times import ensure_utc, utcnow
from core.urls import canonical_url, url_key

# Fixed namespace so ids are identical on every machine and in every run.
DOCUMENT_NAMESPACE = uuid.UUID("6f2b1c0e-5d4a-5c1e-9a57-0c7a3f3e9b21")


_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """The form used for hashing and caching: NFKC, case-folded, whitespace collapsed."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{normalise_text(title)}\n{normalise_text(text)}".encode()).hexdigest()


def document_id(
    *, url: str | None = None, source: str | None = None, source_id: str | None = None
) -> str:
    """UUIDv5 of the canonical URL, or of ``source:source_id`` when there is no URL."""
    if url:
        return str(uuid.uuid5(DOCUMENT_NAMESPACE, url_key(url)))
    if source and source_id:
        return str(uuid.uuid5(DOCUMENT_NAMESPACE, f"{source}:{source_id}"))
    raise ValueError("a document id needs a URL or a source and a source id")


class SourceFamily(StrEnum):
    NEWS = "news"
    REDDIT = "reddit"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Document(_Record):
    """One piece of text from a source, after normalisation."""

    id: str
    source: str = Field(description="collector instance, e.g. 'rss:coindesk' or 'reddit:Bitcoin'")
    family: SourceFamily = SourceFamily.NEWS
    source_id: str | None = None
    url: str | None = None
    title: str = ""
    text: str = ""
    author: str | None = None
    published_at: datetime
    ingested_at: datetime
    assets: tuple[str, ...] = ()
    content_hash: str
    lang: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @field_validator("published_at", "ingested_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return ensure_utc(v)

    @classmethod
    def build(
        cls,
        *,
        source: str,
        title: str,
        text: str,
        published_at: datetime,
        ingested_at: datetime,
        url: str | None = None,
        source_id: str | None = None,
        family: SourceFamily = SourceFamily.NEWS,
        **fields: Any,
    ) -> Document:
        """Build a document, deriving its id and content hash."""
        return cls(
            id=document_id(url=url, source=source, source_id=source_id),
            source=source,
            family=family,
            source_id=source_id,
            url=canonical_url(url) if url else None,
            title=title,
            text=text,
            published_at=published_at,
            ingested_at=ingested_at,
            content_hash=content_hash(title, text),
            **fields,
        )

    @property
    def body(self) -> str:
        """Title and text as one string, what the sentiment model reads."""
        if self.title and self.text and not self.text.startswith(self.title):
            return f"{self.title}. {self.text}"
        return self.text or self.title


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


LABELS: tuple[Label, ...] = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)


class SentimentScore(_Record):
    """A model's reading of one document. ``score = p_positive - p_negative`` in [-1, 1]."""

    document_id: str
    model_version: str
    label: Label
    p_negative: float
    p_neutral: float
    p_positive: float
    scored_at: datetime

    @property
    def score(self) -> float:
        return self.p_positive - self.p_negative


class Frequency(StrEnum):
    HOUR = "1h"
    DAY = "1d"


class IndexPoint(_Record):
    """The sentiment index of one asset for one bucket, computed as of the bucket's end.

    ``ts`` is the start of the bucket; ``asof`` its end. Only documents with
    ``ingested_at < asof`` and ``ingested_at >= ts`` are inside it.
    """

    asset: str
    family: str = "all"
    freq: Frequency
    ts: datetime
    asof: datetime
    n_docs: int
    mean: float
    dispersion: float = 0.0
    share_bullish: float = 0.0
    share_bearish: float = 0.0
    weighted_mean: float = 0.0
    index: float = 50.0
    zscore: float | None = None
    model_version: str


class Candle(_Record):
    exchange: str
    pair: str
    timeframe: str
    ts: datetime = Field(description="bucket open time, UTC")
    open: float
    high: float
    low: float
    close: float
    volume_base: float
    volume_quote: float | None = None
    ingested_at: datetime


class OnchainMetric(_Record):
    asset: str
    day: date
    metric: str
    value: float
    source: str
    ingested_at: datetime


class IngestWarning(_Record):
    """A recorded reason why something from a source was skipped, repaired or partial."""

    source: str
    reason: str
    detail: str = ""
    at: datetime = Field(default_factory=utcnow)


class Signal(_Record):
    """A fusion signal for one asset at one decision time (fusion/live.py makes and stores them).

    ``ts`` is the decision time: the close of the newest bar known when the signal was made
    (``asof``). ``prob_up`` is the calibrated P(up) over ``horizon``, None when there is no
    (promoted) model; ``action`` is what the gates left of the model's proposal (``long``,
    ``short``, ``flat``, ``hold`` or ``no model``) with every ``reasons``; ``contributions``
    are each feature's share of the log-odds; ``data_age_bars`` says how fresh the candles were.
    The fields after ``features_asof`` came with the store's signals table and have defaults,
    so a bare signal still builds.
    """

    asset: str
    ts: datetime
    horizon: str
    prob_up: float | None = None
    action: str
    model_version: str | None = None
    features_asof: datetime
    timeframe: str = "1d"
    position: float = 0.0
    reasons: tuple[str, ...] = ()
    contributions: dict[str, float] = Field(default_factory=dict)
    data_age_bars: float | None = None
    asof: datetime | None = None

    @field_validator("ts", "features_asof", "asof")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else ensure_utc(v)


class SignalOutcome(_Record):
    """What happened to a stored signal at its horizon: the forward ledger's row.

    Keyed like its signal (asset, timeframe, horizon, ts). Filled at the open of the bar
    that starts at ``ts``, marked at the close of the bar that ends at ``ts + horizon``;
    written once that close is known (``resolved_at``), never changed after.
    """

    asset: str
    timeframe: str
    horizon: str
    ts: datetime
    position: float
    fill_price: float
    exit_price: float
    realised_return: float
    net_return: float
    hit: float | None = None
    resolved_at: datetime

    @field_validator("ts", "resolved_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return ensure_utc(v)


class StudyRun(_Record):
    """One recorded walk-forward study (``fusion backtest``, ``fusion train``): what it stood
    on, enough to repeat it to the digit, and its report card as written (JSON text)."""

    id: int | None = None
    asset: str
    timeframe: str
    created_at: datetime
    config: dict[str, Any] = Field(description="settings, study choices and data source")
    data: dict[str, Any] = Field(description="range and rows of each input, content hash")
    content_sha256: str
    code: dict[str, Any]
    seed: int
    data_first: datetime | None = None
    data_last: datetime | None = None
    chosen: str
    gate_passed: bool
    verdict: str
    card_sha256: str
    card_json: str
    json_path: str | None = None
    html_path: str | None = None

    @field_validator("created_at", "data_first", "data_last")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else ensure_utc(v)


class RegisteredModel(_Record):
    """A live fusion model in the registry: the newest entry of an asset and timeframe is the
    one that signals, and only when ``promoted`` (its walk-forward card passed the gate);
    otherwise the asset's signal is "no model" with ``reasons``."""

    id: int | None = None
    asset: str
    timeframe: str
    horizon: str
    version: str
    created_at: datetime
    promoted: bool
    reasons: tuple[str, ...] = ()
    run_id: int | None = None
    groups: tuple[str, ...] = ()
    train_first: datetime | None = None
    train_last: datetime | None = None
    sentiment_version: str | None = None
    model_json: str

    @field_validator("created_at", "train_first", "train_last")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else ensure_utc(v)
