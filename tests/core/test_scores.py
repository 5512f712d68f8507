"""Scores, the scorer's queue, model versions and the score cache (``store.scores``,
``store.score_cache``), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from core.records import Label
from core.store import Store
from tests.factories import T0, doc, score


def test_scores_are_idempotent_and_pending_list_shrinks(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    assert [x.id for x in store.scores.pending("m1")] == [d.id]
    sc = score(d.id, "m1", positive=0.7, negative=0.1)
    store.scores.add([sc])
    store.scores.add([sc])
    assert store.scores.pending("m1") == []
    assert store.scores.pending("m2") != []
    got = store.scores.get(d.id, "m1")
    assert got is not None and got.score == pytest.approx(0.6)
    rows = store.index.scored_documents("m1", asset="BTC")
    assert len(rows) == 1 and rows[0].ingested_at == T0


def test_a_second_score_from_the_same_model_keeps_the_first(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    first = score(d.id, positive=0.7, negative=0.1)
    store.scores.add([first])
    store.scores.add([score(d.id, positive=0.1, negative=0.8, minutes=5)])
    assert store.scores.get(d.id, "m1") == first
    assert store.scores.count() == 1


def test_a_score_reads_back_equal_with_its_label(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    sc = score(d.id, positive=0.05, negative=0.9)
    store.scores.add([sc])
    assert sc.label is Label.NEGATIVE
    assert store.scores.get(d.id, "m1") == sc
    assert store.scores.get(d.id, "m2") is None


def test_pending_is_oldest_first_and_limited(store: Store) -> None:
    items = [
        doc(f"https://x.example/{i}", title=f"Story {i} on bitcoin and ether flows", minutes=10 - i)
        for i in range(5)
    ]
    store.documents.add(items)
    store.scores.add([score(items[4].id)])
    pending = store.scores.pending("m1", limit=2)
    assert [d.id for d in pending] == [items[3].id, items[2].id]


def test_versions_and_the_latest_version_by_scoring_time(store: Store) -> None:
    assert store.scores.versions() == []
    assert store.scores.latest_version() is None
    d = doc()
    store.documents.add([d])
    store.scores.add([score(d.id, "old-model", minutes=0), score(d.id, "new-model", minutes=10)])
    store.scores.add([score(d.id, "middle-model", minutes=5)])
    assert sorted(store.scores.versions()) == ["middle-model", "new-model", "old-model"]
    assert store.scores.latest_version() == "new-model"


def test_versions_scored_at_the_same_instant_pick_the_greatest_name(store: Store) -> None:
    d = doc()
    store.documents.add([d])
    store.scores.add([score(d.id, "a-model"), score(d.id, "b-model")])
    assert store.scores.latest_version() == "b-model"


def test_cache_returns_only_what_this_model_remembered(store: Store) -> None:
    cache = store.score_cache
    assert cache.remember("m1", {"h1": (0.1, 0.2, 0.7), "h2": (0.5, 0.25, 0.25)}) == 2
    assert cache.lookup("m1", ["h1", "h3", "h1"]) == {"h1": (0.1, 0.2, 0.7)}
    assert cache.lookup("m2", ["h1"]) == {}
    assert cache.lookup("m1", []) == {}


def test_cache_keeps_an_existing_entry(store: Store) -> None:
    store.score_cache.remember("m1", {"h1": (0.1, 0.2, 0.7)})
    store.score_cache.remember("m1", {"h1": (0.9, 0.05, 0.05)})
    assert store.score_cache.lookup("m1", ["h1"]) == {"h1": (0.1, 0.2, 0.7)}


def test_cache_lookup_of_many_hashes_is_chunked_and_complete(store: Store) -> None:
    entries = {f"{i:064x}": (0.2, 0.3, 0.5) for i in range(1203)}
    store.score_cache.remember("m1", entries)
    found = store.score_cache.lookup("m1", [*entries, "missing"])
    assert found == entries
