"""Which collectors a source name builds: the one factory the service and the CLI use.

This is the wiring edge: it alone takes the whole :class:`~core.settings.Settings` and hands
each source its own sections (``rss`` + ``http``, ``reddit`` + ``http``, ...) and one
:class:`~collectors.assets.AssetTagger` built from ``assets``. Source modules are imported
only when their source is asked for, so heavy client libraries (praw, ccxt, trafilatura)
load only when needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.assets import AssetTagger
    from collectors.base import Collector
    from collectors.market import ExistingStore
    from core.settings import Settings


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


def _tagger(settings: Settings) -> AssetTagger:
    from collectors.assets import AssetTagger

    return AssetTagger.from_settings(settings.assets)


def _stored(settings: Settings) -> ExistingStore:
    from collectors.market import ExistingStore

    return ExistingStore(settings.database_url, echo=settings.db.echo)


def _rss(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import rss

    return list(rss.build_collectors(settings.rss, settings.http, _tagger(settings), options))


def _news(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import articles, rss

    tagger = _tagger(settings)
    feeds = rss.build_collectors(settings.rss, settings.http, tagger, options)
    return articles.build_collectors(feeds, settings.news, settings.http, tagger)


def _reddit(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import reddit

    return list(reddit.build_collectors(settings.reddit, settings.http, _tagger(settings), options))


def _cryptopanic(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import cryptopanic

    return cryptopanic.build_collectors(settings.news, settings.http, _tagger(settings), options)


def _prices(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import prices

    return prices.build_collectors(settings.prices, settings.http, _stored(settings), options)


def _onchain(settings: Settings, options: CollectOptions) -> list[Collector]:
    from collectors.live import onchain

    return onchain.build_collectors(settings.onchain, settings.http, _stored(settings), options)


SOURCES: dict[str, Callable[[Settings, CollectOptions], list[Collector]]] = {
    "rss": _rss,
    "reddit": _reddit,
    "news": _news,
    "cryptopanic": _cryptopanic,
    "prices": _prices,
    "onchain": _onchain,
}


def build_collectors(
    source: str, settings: Settings, options: CollectOptions | None = None
) -> list[Collector]:
    """The collectors of one source (``rss``, ``news``, ``reddit``, ``cryptopanic``,
    ``prices``, ``onchain``), configured from ``settings`` and ``options``."""
    if source not in SOURCES:
        raise UnknownSource(f"unknown source {source!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[source](settings, options or CollectOptions())
