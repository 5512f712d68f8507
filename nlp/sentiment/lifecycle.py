"""The sentiment model's lifecycle: which model to serve now, whether a better one is due,
and training it, so that the service only has to schedule.

:meth:`SentimentLifecycle.start` picks the model to serve, in this order: (a)
``sentiment.model`` names a local directory: load it; (b) the project trained a model
earlier (``CURRENT`` in the registry): load it; (c) the hub id, with a short timeout and
``HF_HUB_OFFLINE`` respected; (d) the hub is unreachable: train the *quick* plan now (the seed
set, about a minute), point ``CURRENT`` at it and serve it. Keyword rules are never a
fallback: a fresh machine without the hub still gets a real fine-tuned transformer.

:meth:`SentimentLifecycle.upgrade_due` then compares the served model's card with the
*target* plan (:mod:`nlp.sentiment.plans`: the best tier the data at hand allows) and, when
the target improves on it, returns an :class:`Upgrade`: a job to run in a background thread
that trains the target model under the registry's file lock (or adopts the one another
process trained meanwhile), points ``CURRENT`` at it, loads it and reports it ready. The
service scores everything with it, switches, and calls :meth:`Upgrade.finish`.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from core.paths import DataPaths
from core.settings import SentimentSettings
from core.times import utcnow
from nlp.sentiment.base import SentimentModel
from nlp.sentiment.card import ModelCard, find_card
from nlp.sentiment.config import TrainConfig
from nlp.sentiment.data import DataError
from nlp.sentiment.factory import (
    hub_offline,
    load_directory,
    load_hub,
    looks_like_path,
    probe_hub,
)
from nlp.sentiment.hf import ModelLoadError
from nlp.sentiment.plans import TrainingPlan, default_recipes, quick_plan, target_plan
from nlp.sentiment.registry import ModelRegistry

log = logging.getLogger(__name__)

#: Where the served model came from: the configured directory, the registry's CURRENT, the
#: hub, or trained just now.
Origin = Literal["configured", "current", "hub", "trained"]


@dataclass(frozen=True)
class ServedModel:
    model: SentimentModel
    origin: Origin
    path: Path | None = None
    card: ModelCard | None = None

    @property
    def version(self) -> str:
        return self.model.version


class UpgradeState(enum.StrEnum):
    WAITING = "waiting"  # another process holds the training lock
    TRAINING = "training"
    LOADING = "loading"  # trained; exporting and loading it
    READY = "ready"  # loaded; the service scores everything with it, then switches
    DONE = "done"  # the service switched to it
    FAILED = "failed"  # the old model keeps serving


class ModelLifecycle(Protocol):
    """What the service asks of a lifecycle."""

    def start(self) -> ServedModel: ...

    def upgrade_due(self, served: ServedModel) -> Upgrade | None: ...


class Upgrade:
    """One background upgrade towards ``plan``; thread-safe to read while it runs."""

    def __init__(self, lifecycle: SentimentLifecycle, plan: TrainingPlan, served: ServedModel):
        self.lifecycle = lifecycle
        self.plan = plan
        self.from_version = served.version
        self.state = UpgradeState.TRAINING  # the service starts run() at once
        self.started_at: str | None = None
        self.finished_at: str | None = None
        self.to_version: str | None = None
        self.error: str | None = None
        self._ready: ServedModel | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        """Train (or adopt) the target model and load it; never raises."""
        self.started_at = utcnow().isoformat(timespec="seconds")
        try:
            path, trained = self.lifecycle.train_plan(
                self.plan,
                accept=lambda card: not self.plan.improves_on(card),
                on_wait=self._waiting,
                on_train=self._training,
                progress=False,  # no bars from a background thread into the service's log
            )
            self.state = UpgradeState.LOADING
            served = self.lifecycle.load_project_model(path, "current")
        except (DataError, ModelLoadError) as err:
            self._fail(str(err))
            log.error("sentiment upgrade (%s) failed: %s", self.plan.describe(), err)
            return
        except Exception as err:  # the old model keeps serving; the reason is in /healthz
            self._fail(f"{type(err).__name__}: {err}")
            log.exception("sentiment upgrade (%s) failed", self.plan.describe())
            return
        held_out = served.card.held_out if served.card else None
        log.warning(
            "sentiment model %s %s (held-out weighted F1 %s); scoring everything with it "
            "before switching",
            served.version,
            "trained" if trained else "trained by another process, adopted",
            f"{held_out.weighted_f1:.3f}" if held_out else "unknown",
        )
        with self._lock:
            self.to_version = served.version
            self._ready = served
            self.state = UpgradeState.READY

    def take(self) -> ServedModel | None:
        """The upgraded model, once, when it is ready; else None."""
        with self._lock:
            ready, self._ready = self._ready, None
            return ready

    def finish(self) -> None:
        """The service switched to the upgraded model."""
        self.finished_at = utcnow().isoformat(timespec="seconds")
        self.state = UpgradeState.DONE

    @property
    def active(self) -> bool:
        return self.state not in (UpgradeState.DONE, UpgradeState.FAILED)

    def report(self) -> dict[str, Any]:
        """What ``/healthz`` shows as ``model_upgrade``."""
        return {
            "state": self.state.value,
            "tier": self.plan.tier,
            "target": self.plan.describe(),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }

    def _waiting(self) -> None:
        self.state = UpgradeState.WAITING
        log.warning(
            "another process is training a sentiment model in %s; waiting for it",
            self.lifecycle.registry.root,
        )

    def _training(self) -> None:
        self.state = UpgradeState.TRAINING

    def _fail(self, message: str) -> None:
        self.error = message
        self.finished_at = utcnow().isoformat(timespec="seconds")
        self.state = UpgradeState.FAILED


class SentimentLifecycle:
    """Chooses, trains and upgrades the sentiment model for one data directory.

    ``recipes`` maps each tier to its training recipe (default: :func:`default_recipes`);
    tests give tiny ones. ``progress``: show progress bars when training in the foreground.
    """

    def __init__(
        self,
        settings: SentimentSettings,
        paths: DataPaths,
        *,
        recipes: Mapping[str, TrainConfig] | None = None,
        hub_endpoint: str | None = None,
        progress: bool = True,
    ) -> None:
        self.settings = settings
        self.paths = paths
        self.registry = ModelRegistry(paths.sentiment_models)
        self.recipes = dict(recipes) if recipes is not None else default_recipes(settings)
        self.hub_endpoint = hub_endpoint
        self.progress = progress

    def quick_plan(self) -> TrainingPlan:
        return quick_plan(self.recipes)

    def target_plan(self) -> TrainingPlan:
        return target_plan(self.settings, self.recipes)

    def start(self, *, first: Literal["quick", "target"] = "quick") -> ServedModel:
        """The model to serve now; trains one when there is none (see the module docstring).

        ``first`` is what to train when nothing can be loaded: the ``quick`` plan (the
        service, which upgrades in the background) or the ``target`` plan at once (a
        one-shot command, which has no background to upgrade in).
        """
        s = self.settings
        local = Path(s.model).expanduser()
        if local.is_dir():
            log.info("sentiment model: local directory %s", local)
            model = load_directory(s, self.paths.sentiment_onnx, local)
            return ServedModel(model, "configured", local, find_card(local))
        if looks_like_path(s.model):
            raise ModelLoadError(
                f"sentiment.model {s.model!r} looks like a folder but does not exist "
                "(env CRYPTOSENSE_SENTIMENT__MODEL)"
            )
        current = self.registry.current()
        if current is not None:
            log.info("sentiment model: the project's trained model %s", current.name)
            return self.load_project_model(current, "current")
        if hub_offline():
            reason = "HF_HUB_OFFLINE is set"
        else:
            try:
                commit = probe_hub(s.model, s.hub_timeout_s, endpoint=self.hub_endpoint)
                log.info("sentiment model: %s@%s from the hub", s.model, commit)
                model = load_hub(s, self.paths.sentiment_onnx, s.model, commit)
                return ServedModel(model, "hub")
            except ModelLoadError as err:
                reason = str(err)
        plan = self.quick_plan() if first == "quick" else self.target_plan()
        log.warning(
            "the model hub is unreachable for %r (%s): training the offline sentiment model "
            "now (%s, %d epochs); this happens once",
            s.model,
            reason,
            plan.describe(),
            plan.config.epochs,
        )
        path, trained = self.train_plan(plan, accept=lambda card: True)
        return self.load_project_model(path, "trained" if trained else "current")

    def upgrade_due(self, served: ServedModel) -> Upgrade | None:
        """An upgrade job when the target plan improves on the served model, else None.

        Only the project's own models are upgraded: a configured directory or a hub model is
        the user's choice, and a model trained by hand has no tier.
        """
        if served.origin not in ("current", "trained"):
            return None
        plan = self.target_plan()
        if not plan.improves_on(served.card):
            return None
        return Upgrade(self, plan, served)

    def train_plan(
        self,
        plan: TrainingPlan,
        *,
        accept: Callable[[ModelCard | None], bool],
        on_wait: Callable[[], None] | None = None,
        on_train: Callable[[], None] | None = None,
        progress: bool | None = None,
    ) -> tuple[Path, bool]:
        """Train ``plan`` into the registry under its lock and make it current; returns the
        model folder and whether it was trained here.

        Under the lock, a current model that ``accept`` takes (one another process trained
        while this one waited) is used instead of training again.
        """
        with self.registry.training_lock(on_wait=on_wait or self._log_wait):
            current = self.registry.current()
            if current is not None and accept(find_card(current)):
                log.warning("using %s, trained meanwhile by another process", current.name)
                return current, False
            if on_train is not None:
                on_train()
            try:
                data = plan.load()
            except DataError as err:
                raise ModelLoadError(f"sentiment training data cannot be used: {err}") from err
            log.info("training the %s: %d texts", plan.describe(), len(data))
            started = time.perf_counter()
            result = self.registry.train(
                data,
                plan.config,
                tier=plan.tier,
                progress=self.progress if progress is None else progress,
            )
            log.warning(
                "sentiment model %s (%s) trained in %.0f s (held-out weighted F1 %.3f)",
                result.version,
                plan.tier,
                time.perf_counter() - started,
                result.validation.weighted_f1,
            )
            return result.path, True

    def load_project_model(self, path: Path, origin: Origin) -> ServedModel:
        """A model from the registry; its labels are named canonically (no hub label map)."""
        model = load_directory(self.settings, self.paths.sentiment_onnx, path, project_model=True)
        return ServedModel(model, origin, path, find_card(path))

    def _log_wait(self) -> None:
        log.warning(
            "another process is training a sentiment model in %s; waiting for it",
            self.registry.root,
        )


def build_sentiment_model(
    settings: SentimentSettings,
    paths: DataPaths,
    *,
    train_config: TrainConfig | None = None,
    progress: bool = True,
    hub_endpoint: str | None = None,
) -> SentimentModel:
    """The model a one-shot command (``score``, ``nlp eval``) uses: what the service would
    serve, except that on a machine with no model yet the target plan is trained at once.

    ``train_config`` replaces every tier's recipe (tests train a one-epoch model).
    """
    recipes = None
    if train_config is not None:
        recipes = dict.fromkeys(default_recipes(settings), train_config)
    lifecycle = SentimentLifecycle(
        settings, paths, recipes=recipes, hub_endpoint=hub_endpoint, progress=progress
    )
    return lifecycle.start(first="target").model
