"""Run every source on its own interval; a slow or broken source never starves the others."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collectors.base import Collector
from collectors.runner import PollOutcome, run_once
from core.settings import HttpSettings
from core.store import Store

log = logging.getLogger(__name__)


@dataclass
class Scheduler:
    """Keeps a next-due time per collector (monotonic clock) and polls the ones that are due.

    A source that reports ``more`` (paging, backfill) is polled again on the next pass
    instead of waiting its whole interval.
    """

    collectors: Sequence[Collector]
    store: Store
    http: HttpSettings
    clock: Callable[[], float] = time.monotonic
    _due: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [c.name for c in self.collectors]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"collector names must be unique: {sorted(dupes)}")
        now = self.clock()
        self._due = {c.name: now for c in self.collectors}

    def run_due(self) -> list[PollOutcome]:
        outcomes = []
        for collector in self.collectors:
            if self._due[collector.name] > self.clock():
                continue
            outcome = run_once(collector, self.store, self.http)
            outcomes.append(outcome)
            wait = 0.0 if outcome.more else collector.interval_s
            self._due[collector.name] = self.clock() + wait
        return outcomes

    def seconds_until_next(self) -> float:
        if not self._due:
            return float("inf")
        return max(0.0, min(self._due.values()) - self.clock())
