"""Storage: one :class:`Store` per database, with a repository per aggregate.

Default: a SQLite file in the data directory (embedded, zero set-up). With ``db.url``:
PostgreSQL. Every write is idempotent and happens in one transaction per batch, so
re-ingesting changes nothing and a failure leaves nothing half-written. Opening a store
migrates its schema first (:mod:`core.store.migrate`).

=================  ======================  ===============================================
attribute          module                  holds
=================  ======================  ===============================================
``documents``      :mod:`.documents`       documents, their sources and asset mentions
``scores``         :mod:`.scores`          sentiment scores, model versions
``score_cache``    :mod:`.scores`          probabilities per text hash and model version
``index``          :mod:`.index`           index points and what the index builder reads
``market``         :mod:`.market`          candles and on-chain values
``sources``        :mod:`.sources`         collector state and health, ingest warnings
``signals``        :mod:`.signals`         live fusion signals and their outcomes (ledger)
``studies``        :mod:`.studies`         recorded fusion studies, the live model registry
``keys``           :mod:`.keys`            API keys (hashed) and their scopes
``events``         :mod:`.events`          the event log streams and webhooks resume from
``webhooks``       :mod:`.webhooks`        registered webhooks and their delivery log
``conversations``  :mod:`.agent`           the agent's conversations and their turns
``briefings``      :mod:`.agent`           the agent's daily briefings
=================  ======================  ===============================================

Tables are in :mod:`.tables`; the engine and its helpers in :mod:`.engine`. See
docs/store.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlmodel import Session

from core.store import migrate
from core.store.agent import BriefingRepository, ConversationRepository
from core.store.documents import CitedDocument, DocumentRepository, IngestResult
from core.store.engine import Database, mask_url, sqlite_path
from core.store.errors import SchemaError, StoreUnavailable
from core.store.events import EventRepository
from core.store.index import IndexRepository, ScoredDoc
from core.store.keys import KeyRepository
from core.store.market import MarketRepository
from core.store.migrate import SchemaState
from core.store.scores import ScoreCache, ScoreRepository
from core.store.signals import SignalRepository
from core.store.sources import SourceRepository
from core.store.studies import StudyRepository
from core.store.webhooks import WebhookRepository

if TYPE_CHECKING:
    from core.paths import DataPaths
    from core.settings import DatabaseSettings

__all__ = [
    "CitedDocument",
    "IngestResult",
    "SchemaError",
    "SchemaState",
    "ScoredDoc",
    "Store",
    "StoreUnavailable",
    "build_store",
    "schema_state",
    "upgrade_schema",
]


class Store:
    """The database and its repositories; build one with :meth:`open` or :func:`build_store`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.documents = DocumentRepository(db)
        self.scores = ScoreRepository(db)
        self.score_cache = ScoreCache(db)
        self.index = IndexRepository(db)
        self.market = MarketRepository(db)
        self.sources = SourceRepository(db)
        self.signals = SignalRepository(db)
        self.studies = StudyRepository(db)
        self.keys = KeyRepository(db)
        self.events = EventRepository(db)
        self.webhooks = WebhookRepository(db)
        self.conversations = ConversationRepository(db)
        self.briefings = BriefingRepository(db)

    @classmethod
    def open(cls, url: str, *, echo: bool = False) -> Store:
        """Connect to ``url`` and migrate its schema to this code's head.

        Raises :class:`StoreUnavailable` (one line, password masked) when the database cannot
        be reached or created, and :class:`SchemaError` when its schema is newer than this
        code.
        """
        db = Database(url, echo=echo)
        try:
            _upgrade(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def url(self) -> str:
        return self._db.url

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A raw session, for the rare reader that needs SQL the repositories do not offer
        (tests checking rows as stored)."""
        with self._db.session() as session:
            yield session

    def counts(self) -> dict[str, int]:
        """Row counts of documents, scores and index points: what ``/healthz`` reports."""
        return {
            "documents": self.documents.count(),
            "scores": self.scores.count(),
            "index_points": self.index.count(),
        }

    def schema(self) -> SchemaState:
        """Where this database's schema stands (a readiness probe asks)."""
        return migrate.inspect_schema(self._db.engine)

    def close(self) -> None:
        self._db.close()


def build_store(db: DatabaseSettings, paths: DataPaths) -> Store:
    """The store the ``db`` settings name (default: SQLite in the data directory), migrated."""
    return Store.open(_url(db, paths), echo=db.echo)


def upgrade_schema(db: DatabaseSettings, paths: DataPaths) -> tuple[SchemaState, SchemaState]:
    """Migrate the configured database to head: where it stood before, where it stands now."""
    database = Database(_url(db, paths), echo=db.echo)
    try:
        return _upgrade(database)
    finally:
        database.close()


def schema_state(db: DatabaseSettings, paths: DataPaths) -> SchemaState:
    """Where the configured database stands; creates nothing (not even a SQLite file)."""
    url = db.resolved_url(paths)
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None and not path.exists():
        return SchemaState(url=mask_url(url), revision=None, head=migrate.head(), exists=False)
    database = Database(url, echo=db.echo)
    try:
        database.check()
        return migrate.inspect_schema(database.engine)
    finally:
        database.close()


def _url(db: DatabaseSettings, paths: DataPaths) -> str:
    if db.url is None:
        paths.ensure()  # a data directory that cannot be created is the clearer message
    return db.resolved_url(paths)


def _upgrade(database: Database) -> tuple[SchemaState, SchemaState]:
    database.check()
    return migrate.upgrade(database.engine)
