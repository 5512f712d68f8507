"""Which collectors a source name builds. Each source module exposes
``build_collectors(settings, options) -> list[Collector]``; heavy client libraries (praw,
ccxt, trafilatura) are imported only when that source is asked for."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.base import Collector
    from core.settings import Settings

SOURCES: dict[str, str] = {
    "rss": "collectors.rss",
    "reddit": "collectors.reddit",
    "news": "collectors.articles",
    "cryptopanic": "collectors.cryptopanic",
    "prices": "collectors.prices",
    "onchain": "collectors.onchain",
}


@dataclass(frozen=True)
class CollectOptions:
    """One-off overrides from the command line; None means: use the settings."""

    url: str | None = None
    name: str | None = None
    subreddit: str | None = None
    pair: str | None = None
    timeframe: str | None = None
    since: datetime | None = None


class UnknownSource(ValueError):
    pass


def build_collectors(
    source: str, settings: Settings, options: CollectOptions | None = None
) -> list[Collector]:
    if source not in SOURCES:
        raise UnknownSource(f"unknown source {source!r}; known: {', '.join(sorted(SOURCES))}")
    module = importlib.import_module(SOURCES[source])
    collectors: list[Collector] = module.build_collectors(settings, options or CollectOptions())
    return collectors
