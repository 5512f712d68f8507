"""The scheduler polls each source on its own interval; a failing source does not hold up the
others. The collectors here are plumbing stand-ins: the scheduler is what is under test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from collectors.base import CollectResult, SourceError
from collectors.scheduler import Scheduler
from core.settings import HttpSettings
from core.store import Store
from tests.factories import doc


@dataclass
class Scripted:
    name: str
    interval_s: float
    fail: bool = False
    more_times: int = 0
    calls: list[Mapping[str, Any]] = field(default_factory=list)

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        self.calls.append(dict(cursor))
        if self.fail:
            raise SourceError(self.name, "http-500", "scripted failure")
        n = len(self.calls)
        more = n <= self.more_times
        item = doc(
            f"https://example.org/{self.name}/{n}", title=f"{self.name} story {n} about bitcoin"
        )
        return CollectResult(documents=(item,), cursor={"page": n}, more=more)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_each_source_is_polled_on_its_own_interval(sqlite_store: Store) -> None:
    clock = Clock()
    fast, slow = Scripted("fast", 60), Scripted("slow", 600)
    sched = Scheduler([fast, slow], sqlite_store, HttpSettings(), clock=clock)
    assert [o.source for o in sched.run_due()] == ["fast", "slow"]
    assert sched.seconds_until_next() == 60
    clock.t += 60
    assert [o.source for o in sched.run_due()] == ["fast"]
    clock.t += 540
    assert {o.source for o in sched.run_due()} == {"fast", "slow"}
    assert len(fast.calls) == 3 and len(slow.calls) == 2


def test_cursor_from_the_last_successful_poll_is_handed_back(sqlite_store: Store) -> None:
    clock = Clock()
    src = Scripted("paged", 60)
    sched = Scheduler([src], sqlite_store, HttpSettings(), clock=clock)
    sched.run_due()
    clock.t += 60
    sched.run_due()
    assert src.calls == [{}, {"page": 1}]


def test_a_source_with_more_to_give_is_polled_again_on_the_next_pass(sqlite_store: Store) -> None:
    src = Scripted("backlog", 3600, more_times=2)
    sched = Scheduler([src], sqlite_store, HttpSettings(), clock=Clock())
    for _ in range(4):
        sched.run_due()
    assert len(src.calls) == 3  # two passes with more, then it waits its interval
    assert sqlite_store.documents.count() == 3


def test_failing_source_opens_its_circuit_while_others_carry_on(sqlite_store: Store) -> None:
    clock = Clock()
    bad, good = Scripted("bad", 10, fail=True), Scripted("good", 10)
    http = HttpSettings(breaker_threshold=5)
    sched = Scheduler([bad, good], sqlite_store, http, clock=clock)
    for _ in range(7):
        outcomes = {o.source: o for o in sched.run_due()}
        assert outcomes["good"].ok
        clock.t += 10
    assert len(bad.calls) == 5  # the circuit opened after five failures in a row
    state = sqlite_store.sources.state("bad")
    assert state.consecutive_failures == 5
    assert state.circuit_open_until is not None
    assert sqlite_store.documents.count() == 7


def test_duplicate_collector_names_are_refused(sqlite_store: Store) -> None:
    with pytest.raises(ValueError, match="unique"):
        Scheduler([Scripted("x", 1), Scripted("x", 1)], sqlite_store, HttpSettings())
