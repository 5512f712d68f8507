"""The project's own sentiment models on disk: one folder per version under
``DataPaths.sentiment_models``, a ``CURRENT`` file naming the one in use, and a file lock so
that two processes sharing a data directory never train at the same time.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from nlp.sentiment.config import TrainConfig
from nlp.sentiment.data import LabelledData
from nlp.sentiment.hf import ModelLoadError
from nlp.sentiment.train import TrainResult, train_model

log = logging.getLogger(__name__)

POINTER = "CURRENT"
LOCK_FILE = ".train.lock"


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def teachers_dir(self) -> Path:
        """Where the teachers of a distilled model trained into the registry are kept: the
        registry names models after their version, known only after training, so teachers
        get a fixed home where a later run can reuse them."""
        return self.root / "teachers"

    def current(self) -> Path | None:
        """The model the project trained and chose earlier, if its folder is still complete."""
        pointer = self.root / POINTER
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        path = self.root / name
        if not name or "/" in name or not (path / "config.json").is_file():
            log.warning("%s names %r, which is not a saved model; ignoring it", pointer, name)
            return None
        return path

    def set_current(self, path: Path) -> None:
        """Point ``CURRENT`` at a model folder inside the registry (atomic replace)."""
        path = path.resolve()
        if path.parent != self.root.resolve():
            raise ModelLoadError(
                f"{path} is not inside {self.root}; only models there can be current"
            )
        tmp = self.root / f".{POINTER}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(path.name + "\n", encoding="utf-8")
        os.replace(tmp, self.root / POINTER)

    def train(
        self,
        data: LabelledData,
        config: TrainConfig,
        *,
        tier: str | None = None,
        progress: bool = True,
    ) -> TrainResult:
        """Train into the registry under the model's version and make it current."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".train-{uuid.uuid4().hex[:8]}"
        result = train_model(data, config, staging, progress=progress, tier=tier)
        final = self.root / result.version
        if final.exists():  # identical weights trained before (same data, seed, threads)
            shutil.rmtree(staging)
        else:
            staging.rename(final)
        self.set_current(final)
        return replace(result, path=final)

    @contextmanager
    def training_lock(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the registry's training lock; ``on_wait`` is called once if another process
        holds it (the caller then waits for that process to finish)."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait()
            lock.acquire()
        try:
            yield
        finally:
            lock.release()
