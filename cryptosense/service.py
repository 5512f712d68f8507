"""The long-running service: a pipeline thread (collect -> score -> index) beside the API.

``cryptosense run`` builds everything from settings: the sources (or, without internet, the
offline demo feeds served from 127.0.0.1 through the same collector), the sentiment model
(trained offline on first start when the hub is unreachable), and the FastAPI app. The API
is up at once; points appear as soon as the first documents are scored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors.base import Collector
from collectors.registry import CollectOptions, build_collectors
from collectors.scheduler import Scheduler
from core.settings import Settings
from core.store import Store
from core.times import utcnow

if TYPE_CHECKING:
    from collectors.live.demo import DemoFeedServer
    from nlp.sentiment.base import SentimentModel
    from nlp.vectors.service import VectorSearch

log = logging.getLogger(__name__)

# Sources a full run polls, in order; each skips itself plainly when unconfigured. The feeds
# are polled once: through "news" (article text extracted) or plain "rss" (summaries only).
RUN_SOURCES = ("reddit", "cryptopanic", "prices", "onchain")


@dataclass
class PipelineStatus:
    """What the API reads about the pipeline (thread-safe enough: single writer)."""

    model_version: str | None = None
    state: str = "starting"
    demo: bool = False
    last_step_at: str | None = None
    scored: int = 0
    embedded: int = 0
    errors: list[str] = field(default_factory=list)


def build_sources(
    settings: Settings, *, demo: bool
) -> tuple[list[Collector], DemoFeedServer | None]:
    if demo:
        from collectors.live.demo import DemoFeedServer

        server = DemoFeedServer().start()
        demo_settings = settings.model_copy(
            update={"rss": settings.rss.model_copy(update={"feeds": tuple(server.feed_specs())})}
        )
        return build_collectors("rss", demo_settings, CollectOptions()), server
    collectors: list[Collector] = []
    feeds = "news" if settings.news.fetch_articles else "rss"
    for source in (feeds, *RUN_SOURCES):
        try:
            collectors.extend(build_collectors(source, settings, CollectOptions()))
        except Exception as err:  # one source's set-up problem must not stop the others
            log.error("source %s not started: %s", source, err)
    return collectors, None


class Pipeline:
    """Collect due sources, score new documents, update the index; repeat."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        collectors: list[Collector],
        status: PipelineStatus,
        *,
        model_factory: Callable[[Settings], SentimentModel] | None = None,
        search: VectorSearch | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.status = status
        self.search = search
        self.scheduler = Scheduler(collectors, store, settings.http)
        self._model_factory = model_factory
        self._model: SentimentModel | None = None
        self._upgrade: SentimentModel | None = None
        self._upgrading = False
        self.stop_event = threading.Event()

    def model(self) -> SentimentModel:
        if self._model is None:
            self.status.state = "loading-model"
            if self._model_factory is None:
                from nlp.sentiment.factory import build_sentiment_model

                self._model_factory = build_sentiment_model
            self._model = self._model_factory(self.settings)
            self.status.model_version = self._model.version
            log.info("sentiment model ready: %s", self._model.version)
            if needs_upgrade(self.settings, self._model):
                self._start_upgrade()
        return self._model

    def _start_upgrade(self) -> None:
        """Train the model from ``sentiment.train_data`` in the background while the seed
        model serves; ``step`` switches over once the new model has scored everything."""
        self._upgrading = True
        self.status.state = "running; training the full offline model in the background"
        log.warning(
            "serving with the seed-set model for now; training the full offline model from "
            "%s in the background (minutes; the service switches over when it is ready)",
            self.settings.sentiment.train_data,
        )
        threading.Thread(target=self._train_upgrade, name="model-upgrade", daemon=True).start()

    def _train_upgrade(self) -> None:
        from nlp.sentiment.factory import (
            build_sentiment_model,
            data_train_config,
            offline_training_data,
            train_current_model,
        )

        try:
            data = offline_training_data(self.settings)
            result = train_current_model(
                self.settings, data, data_train_config(self.settings), progress=False
            )
            log.warning(
                "full offline model %s trained (held-out weighted F1 %.3f); rescoring",
                result.version,
                result.validation["weighted_f1"],
            )
            self._upgrade = build_sentiment_model(self.settings, progress=False)
        except Exception as err:  # the seed model keeps serving
            log.exception("training the full offline model failed; keeping the seed model")
            self.status.errors = [*self.status.errors[-9:], f"model upgrade: {err}"]
        finally:
            self._upgrading = False

    def step(self) -> dict[str, Any]:
        from nlp.index import update_index

        outcomes = self.scheduler.run_due()
        model = self.model()
        if not self._upgrading:
            self.status.state = "running"
        scored = self._score_all(model)
        if scored or outcomes:
            update_index(self.store, model.version, self.settings.index)
        upgrade = self._upgrade
        if upgrade is not None:
            self._score_all(upgrade)
            update_index(self.store, upgrade.version, self.settings.index)
            self._model, self._upgrade = upgrade, None
            self.status.model_version = upgrade.version
            log.warning("now serving sentiment model %s", upgrade.version)
        embedded = self._embed(self.model().version)
        self.status.scored += scored
        self.status.last_step_at = utcnow().isoformat()
        return {"polled": len(outcomes), "scored": scored, "embedded": embedded}

    def _embed(self, model_version: str) -> int:
        """Embed what was stored since the last step (all of it after a model switch, which
        refreshes payload sentiment); a vector-store problem is reported, not fatal."""
        from nlp.vectors.base import VectorStoreError

        if self.search is None:
            return 0
        try:
            report = self.search.index(self.store, model_version)
        except VectorStoreError as err:
            message = f"vector search: {err}"
            if message not in self.status.errors:
                log.error("%s; scoring and the index go on without it", message)
                self.status.errors = [*self.status.errors[-9:], message]
            return 0
        self.status.embedded += report.embedded
        return report.embedded

    def _score_all(self, model: SentimentModel) -> int:
        from nlp.scoring import score_pending

        scored = 0
        while not self.stop_event.is_set():
            n = score_pending(
                self.store, model, batch_size=self.settings.sentiment.batch_size, limit=2000
            )
            scored += n
            if n == 0:
                break
        return scored

    def run_forever(self) -> None:
        while not self.stop_event.is_set():
            try:
                report = self.step()
                if any(report.values()):
                    log.info("pipeline: %s", report)
            except Exception as err:  # keep serving; the error is visible in /healthz
                log.exception("pipeline step failed")
                self.status.errors = [*self.status.errors[-9:], f"{type(err).__name__}: {err}"]
            wait = min(self.scheduler.seconds_until_next(), 30.0)
            self.stop_event.wait(max(wait, 1.0))


def needs_upgrade(settings: Settings, model: SentimentModel) -> bool:
    """True when the service runs on the project's seed-set model although labelled training
    data (``sentiment.train_data``) is at hand: the first start answers within a minute on
    the seed model and trains the full one in the background."""
    from nlp.sentiment.data import SEED_DATA

    data = settings.sentiment.train_data
    path = getattr(model, "path", None)
    if data is None or not Path(data).expanduser().is_file() or path is None:
        return False
    card = Path(path) / "model_card.json"
    try:
        trained_on = json.loads(card.read_text(encoding="utf-8"))["data"]["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(trained_on == SEED_DATA.name)
