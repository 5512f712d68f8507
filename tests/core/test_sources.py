"""Source state, circuit breaker fields and ingest warnings (``store.sources``), on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from core.records import IngestWarning
from core.store import Store
from core.times import utcnow
from tests.factories import T0


def test_warnings_and_source_health_are_recorded(store: Store) -> None:
    store.sources.add_warnings([IngestWarning(source="rss:x", reason="malformed-xml", detail="l3")])
    assert store.sources.warnings("rss:x")[0].reason == "malformed-xml"
    st = store.sources.record_result("rss:x", ok=False, error="timeout")
    assert st.consecutive_failures == 1
    st = store.sources.record_result("rss:x", ok=True, items=3, cursor={"etag": "abc"})
    assert st.consecutive_failures == 0 and st.items_today == 3
    assert store.sources.state("rss:x").cursor == {"etag": "abc"}


def test_an_unknown_source_has_a_blank_state_that_is_not_stored(store: Store) -> None:
    st = store.sources.state("rss:never")
    assert (st.consecutive_failures, st.items_today, st.cursor, st.last_success_at) == (
        0,
        0,
        {},
        None,
    )
    assert store.sources.states() == []


def test_failures_open_the_circuit_and_a_success_closes_it(store: Store) -> None:
    until = utcnow() + timedelta(minutes=5)
    store.sources.record_result("rss:x", ok=True, items=2)
    store.sources.record_result("rss:x", ok=False, error="HTTP 503")
    st = store.sources.record_result("rss:x", ok=False, error="HTTP 503", circuit_open_until=until)
    assert st.consecutive_failures == 2
    stored = store.sources.state("rss:x")
    assert stored.circuit_open_until == until
    assert stored.last_error == "HTTP 503"
    assert stored.last_success_at is not None and stored.last_error_at is not None
    assert stored.last_success_at.tzinfo is not None
    st = store.sources.record_result("rss:x", ok=True)
    assert (st.consecutive_failures, st.circuit_open_until) == (0, None)
    assert store.sources.state("rss:x").last_error == "HTTP 503"  # kept for `sources`


def test_a_long_error_is_cut_and_a_failure_without_one_says_so(store: Store) -> None:
    assert store.sources.record_result("a", ok=False, error="x" * 5000).last_error == "x" * 2000
    assert store.sources.record_result("b", ok=False).last_error == "unknown error"
    assert len(store.sources.state("a").last_error or "") == 2000


def test_items_today_start_again_on_a_new_day(store: Store) -> None:
    st = store.sources.record_result("rss:x", ok=True, items=5)
    st.items_day = (utcnow() - timedelta(days=1)).date()
    store.sources.save(st)
    assert store.sources.record_result("rss:x", ok=True, items=2).items_today == 2
    assert store.sources.record_result("rss:x", ok=True, items=1).items_today == 3


def test_a_cursor_with_times_is_stored_as_json(store: Store) -> None:
    store.sources.record_result("rss:x", ok=True, cursor={"since": T0, "seen": ["a", "b"]})
    assert store.sources.state("rss:x").cursor == {"since": str(T0), "seen": ["a", "b"]}
    store.sources.record_result("rss:x", ok=True)  # no cursor given: the stored one stays
    assert store.sources.state("rss:x").cursor["seen"] == ["a", "b"]


def test_states_are_listed_by_name(store: Store) -> None:
    for name in ("rss:b", "reddit:a", "rss:a"):
        store.sources.record_result(name, ok=True)
    assert [s.name for s in store.sources.states()] == ["reddit:a", "rss:a", "rss:b"]


def test_warnings_are_newest_first_per_source_and_limited(store: Store) -> None:
    store.sources.add_warnings(
        [
            IngestWarning(source="rss:x" if i % 2 else "rss:y", reason=f"r{i}", at=T0)
            for i in range(6)
        ]
    )
    store.sources.add_warnings([IngestWarning(source="rss:x", reason="last", detail="d", at=T0)])
    assert [w.reason for w in store.sources.warnings("rss:x")] == ["last", "r5", "r3", "r1"]
    assert [w.reason for w in store.sources.warnings(limit=2)] == ["last", "r5"]
    assert store.sources.warnings("rss:z") == []
    assert store.sources.warnings("rss:x")[0] == IngestWarning(
        source="rss:x", reason="last", detail="d", at=T0
    )
    assert store.sources.add_warnings([]) == 0
