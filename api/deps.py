"""The services the API runs on, and its dependencies, declared once as ``Annotated`` aliases.

The dependencies that only read the app's state are ``async`` (a sync one would cost a hop
to the thread pool on every request); those that query the database stay sync.

Routers ask for ``StoreDep``, ``IndexSettingsDep``, ``ModelVersionDep``, ``ClockDep`` or
``KnownAsset`` and never build anything themselves; tests hand :func:`api.app.create_app`
their own :class:`Services` (a store on a temporary SQLite file or the local PostgreSQL, a
fixed clock) instead of patching. Routes get the settings section they use, never the tree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Request

from core.assets import require_known_asset
from core.settings import IndexSettings, Settings
from core.store import Store, build_store
from core.store.tables import SourceStateRow
from core.times import utcnow

if TYPE_CHECKING:
    from api.auth import KeyCache
    from nlp.vectors.service import VectorSearch


@dataclass
class Services:
    """What the API needs, built once per app (in its lifespan) unless the caller gives it.

    ``model_version`` names the scores the API serves (default: the newest version with
    stored scores); ``source_health`` lists collector health (default: the store's source
    states); ``clock`` is "now" for the still-open index bucket; ``search`` is the semantic
    search over embedded documents (None: ``/v1/search`` answers 503); ``model_upgrade``
    reports a sentiment model upgrade in progress or done (None: no pipeline runs here).
    """

    store: Store
    model_version: Callable[[], str | None]
    source_health: Callable[[], Sequence[SourceStateRow]] | None = None
    clock: Callable[[], datetime] = utcnow
    search: VectorSearch | None = None
    model_upgrade: Callable[[], Mapping[str, Any] | None] | None = None
    key_cache: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        from api.auth import KeyCache

        self.key_cache = KeyCache(self.store.keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        store = build_store(settings.db, settings.paths)
        return cls(
            store=store,
            # Asked on every cached answer (it is part of the key): a query at most once per
            # api.cache_s, the staleness the answer cache already allows.
            model_version=recent(store.scores.latest_version, settings.api.cache_s),
            search=vector_search(settings),
        )

    def close(self) -> None:
        if self.search is not None:
            self.search.close()
        self.store.close()


def recent(ask: Callable[[], str | None], ttl_s: float) -> Callable[[], str | None]:
    """``ask``, called again only when its last answer is ``ttl_s`` seconds old (every time
    when ``ttl_s`` is 0)."""
    if ttl_s <= 0:
        return ask
    asked_at = float("-inf")
    answer: str | None = None

    def get() -> str | None:
        nonlocal asked_at, answer
        now = time.monotonic()
        if now - asked_at >= ttl_s:
            answer, asked_at = ask(), now
        return answer

    return get


def vector_search(settings: Settings) -> VectorSearch | None:
    """The process's vector search when ``vector.in_service`` is on (opened on first use),
    built from its own sections of the tree."""
    if not settings.vector.in_service:
        return None
    from nlp.vectors.service import VectorSearch

    return VectorSearch(settings.vector, settings.embeddings, settings.paths)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_index_settings(request: Request) -> IndexSettings:
    index: IndexSettings = request.app.state.settings.index
    return index


ServicesDep = Annotated[Services, Depends(get_services)]
IndexSettingsDep = Annotated[IndexSettings, Depends(get_index_settings)]


async def get_store(services: ServicesDep) -> Store:
    return services.store


def get_model_version(services: ServicesDep) -> str | None:
    return services.model_version()


async def get_clock(services: ServicesDep) -> Callable[[], datetime]:
    return services.clock


StoreDep = Annotated[Store, Depends(get_store)]
ModelVersionDep = Annotated[str | None, Depends(get_model_version)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def known_asset(
    store: StoreDep,
    asset: Annotated[str, Path(description="asset symbol, any case, e.g. BTC or btc")],
) -> str:
    """The symbol upper-cased; an asset no stored document mentions is a 404 problem (the
    rule the CLI applies too: :func:`core.assets.require_known_asset`)."""
    return require_known_asset(store, asset)


KnownAsset = Annotated[str, Depends(known_asset)]
