"""The collector interface every source implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.records import Candle, Document, IngestWarning, OnchainMetric


class SourceError(Exception):
    """A source failed as a whole (timeout, HTTP error, refused body).

    ``reason`` is a short stable code (``timeout``, ``http-500``, ``not-a-feed``...) shown in
    ``cryptosense sources`` and stored with the source's health.
    """

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{source}: {reason}" + (f" ({detail})" if detail else ""))
        self.source = source
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CollectResult:
    """What one poll of a source produced.

    ``cursor`` is persisted only after everything else in the result is stored, so a crash
    between the two re-fetches (idempotently) instead of losing items.
    """

    documents: tuple[Document, ...] = ()
    candles: tuple[Candle, ...] = ()
    metrics: tuple[OnchainMetric, ...] = ()
    warnings: tuple[IngestWarning, ...] = ()
    cursor: Mapping[str, Any] | None = None
    more: bool = False  # the source has more to give right away (paging, backfill)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return len(self.documents) + len(self.candles) + len(self.metrics)


@runtime_checkable
class Collector(Protocol):
    """A source of records.

    ``name`` is unique per configured instance (``rss:coindesk``, ``reddit:Bitcoin``,
    ``prices:bitstamp``); ``collect`` gets the cursor stored after the last successful poll
    (empty on the first) and raises :class:`SourceError` when the source failed as a whole.
    Partial problems (one bad entry, a truncated body) become warnings in the result.
    """

    name: str
    interval_s: float

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult: ...
