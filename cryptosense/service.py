"""The long-running service: a pipeline thread (collect -> score -> index) beside the API.

``cryptosense run`` builds everything from settings: the sources (or, without internet, the
offline demo feeds served from 127.0.0.1 through the same collector), the sentiment model
(from :mod:`nlp.sentiment.lifecycle`: on a first start without the hub, the quick seed model,
trained in about a minute) and the FastAPI app. The API is up at once; points appear as soon
as the first documents are scored. When the lifecycle says a better model is due, the
pipeline trains it in a background thread and switches once it has scored everything. Each
step also gives :class:`fusion.live.FusionJob` its turn: the current fusion signal of every
covered asset on its own schedule, stored, and the forward ledger updated; and once a day the
agent's daily briefing of the day before (:mod:`agent.briefing`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collectors.base import Collector
from collectors.registry import CollectOptions, build_collectors
from collectors.runner import PollOutcome
from collectors.scheduler import Scheduler
from core.metrics import DOCUMENTS_SCORED, ITEMS_INGESTED, SCORING_SECONDS
from core.settings import Settings
from core.store import Store
from core.times import utcnow

if TYPE_CHECKING:
    from collectors.live.demo import DemoFeedServer
    from cryptosense.publish import EventPublisher
    from fusion.live import FusionJob
    from nlp.sentiment.base import SentimentModel
    from nlp.sentiment.lifecycle import ModelLifecycle, ServedModel, Upgrade
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
    upgrade: Upgrade | None = None

    def upgrade_report(self) -> dict[str, Any] | None:
        """The sentiment model upgrade in progress or done, for ``/healthz``."""
        return None if self.upgrade is None else self.upgrade.report()


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


def _count_ingested(outcomes: list[PollOutcome]) -> None:
    """Items each poll stored, for ``/metrics``."""
    for o in outcomes:
        for kind, n in (
            ("documents", o.ingest.new),
            ("candles", o.candles),
            ("onchain", o.metrics),
        ):
            if n:
                ITEMS_INGESTED.labels(o.source, kind).inc(n)


class Pipeline:
    """Collect due sources, score new documents, update the index; repeat."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        collectors: list[Collector],
        status: PipelineStatus,
        *,
        lifecycle: ModelLifecycle | None = None,
        search: VectorSearch | None = None,
        publisher: EventPublisher | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.status = status
        self.search = search
        self.scheduler = Scheduler(collectors, store, settings.http)
        self._lifecycle = lifecycle
        self._served: ServedModel | None = None
        self._upgrade_asked = False
        self.stop_event = threading.Event()
        self.fusion: FusionJob | None = None
        self.publisher = publisher

    def lifecycle(self) -> ModelLifecycle:
        if self._lifecycle is None:
            from nlp.sentiment.lifecycle import SentimentLifecycle

            self._lifecycle = SentimentLifecycle(self.settings.sentiment, self.settings.paths)
        return self._lifecycle

    def model(self) -> SentimentModel:
        if self._served is None:
            self.status.state = "loading-model"
            self._served = self.lifecycle().start()
            self.status.model_version = self._served.version
            log.info("sentiment model ready: %s", self._served.version)
        return self._served.model

    def step(self) -> dict[str, Any]:
        from nlp.index import update_index

        outcomes = self.scheduler.run_due()
        _count_ingested(outcomes)
        model = self.model()
        scored = self._score_all(model)
        if scored or outcomes:
            update_index(self.store, model.version, self.settings.index)
        self._ask_for_upgrade()  # after the first pass: serving comes first
        self._switch_when_ready()
        upgrade = self.status.upgrade
        self.status.state = (
            "running; upgrading the sentiment model in the background"
            if upgrade is not None and upgrade.active
            else "running"
        )
        embedded = self._embed(self.model().version)
        signals = self._signal()
        published = self._publish(self.model().version)
        briefed = self._brief()
        self.status.scored += scored
        self.status.last_step_at = utcnow().isoformat()
        return {
            "polled": len(outcomes),
            "scored": scored,
            "embedded": embedded,
            "signals": signals,
            "published": published,
            "briefed": briefed,
        }

    def _publish(self, model_version: str) -> int:
        """Index updates and new signals to the event log (streams, webhooks); a failure is
        reported and costs the step nothing else."""
        if self.publisher is None:
            return 0
        try:
            events = self.publisher.index(model_version, utcnow())
            events += self.publisher.signals(self.store.signals.latest())
        except Exception as err:
            log.exception("publishing events failed")
            self._report_error(f"events: {type(err).__name__}: {err}")
            return 0
        return len(events)

    def _signal(self) -> int:
        """The fusion job's turn (it keeps its own schedule): signals stored this time. A
        failure there is reported and does not cost the step what it collected and scored."""
        if self.fusion is None:
            from fusion.live import FusionJob

            self.fusion = FusionJob(self.store, self.settings.prices, self.settings.fusion)
        try:
            report = self.fusion.step(utcnow())
        except Exception as err:  # visible in /healthz, like a failed step
            log.exception("fusion signals failed")
            self._report_error(f"fusion: {type(err).__name__}: {err}")
            return 0
        if report is None:
            return 0
        for problem in report.errors:  # one asset's bad data or model; the others went on
            self._report_error(f"fusion: {problem}")
        return report.stored

    def _brief(self) -> int:
        """Yesterday's (UTC) daily briefing, once: made and stored on the first step after
        the day closed (1), else nothing (0). A failure is reported, like fusion's."""
        from datetime import timedelta

        day = (utcnow() - timedelta(days=1)).date()
        try:
            if self.store.briefings.get(day) is not None:
                return 0
            from agent.briefing import make_briefing
            from agent.service import Agent

            agent = Agent.from_settings(self.settings, self.store, llm=False)
            self.store.briefings.put(make_briefing(agent, day))
        except Exception as err:  # visible in /healthz; collecting goes on
            log.exception("daily briefing failed")
            self._report_error(f"briefing: {type(err).__name__}: {err}")
            return 0
        log.info("daily briefing for %s stored", day)
        return 1

    def _report_error(self, message: str) -> None:
        if message not in self.status.errors:
            self.status.errors = [*self.status.errors[-9:], message]

    def _ask_for_upgrade(self) -> None:
        """Once per start: if the lifecycle has a better model due, train it in the background."""
        if self._upgrade_asked or self._served is None:
            return
        self._upgrade_asked = True
        upgrade = self.lifecycle().upgrade_due(self._served)
        if upgrade is None:
            return
        self.status.upgrade = upgrade
        log.warning(
            "serving sentiment with %s for now; training the %s in the background "
            "(minutes; the service switches over when it is ready)",
            self._served.version,
            upgrade.plan.describe(),
        )
        threading.Thread(target=upgrade.run, name="model-upgrade", daemon=True).start()

    def _switch_when_ready(self) -> None:
        """Score everything with the upgraded model, index it, then serve it."""
        from nlp.index import update_index

        upgrade = self.status.upgrade
        better = upgrade.take() if upgrade is not None else None
        if upgrade is None or better is None:
            return
        self._score_all(better.model)
        update_index(self.store, better.version, self.settings.index)
        self._served = better
        self.status.model_version = better.version
        upgrade.finish()
        log.warning("now serving sentiment model %s (%s)", better.version, upgrade.plan.tier)

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
            started = time.perf_counter()
            n = score_pending(
                self.store, model, batch_size=self.settings.sentiment.batch_size, limit=2000
            )
            if n:
                SCORING_SECONDS.observe(time.perf_counter() - started)
                DOCUMENTS_SCORED.inc(n)
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
