"""What the tools read: the store and their own settings sections, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import FusionSettings, IndexSettings, PriceSettings
    from core.store import Store
    from nlp.vectors.service import VectorSearch


@dataclass
class ToolDeps:
    """The store, the sections the tools read, the vector search (None: keyword search over
    the store), and the sentiment model version whose scores are read (None: the newest)."""

    store: Store
    prices: PriceSettings
    index: IndexSettings
    fusion: FusionSettings
    vectors: VectorSearch | None = None
    model_version: Callable[[], str | None] | None = None

    def sentiment_version(self) -> str | None:
        if self.model_version is not None:
            return self.model_version()
        return self.store.scores.latest_version()

    def covered(self) -> list[str]:
        """Assets some stored document mentions: the ones the agent answers about."""
        return self.store.documents.assets()
