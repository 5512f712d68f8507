"""Vector store behaviour, the same suite on every backend available: Qdrant Edge in-process,
qdrant-client local mode, and a Qdrant server when CRYPTOSENSE_TEST_QDRANT_URL reaches one:
writes, search and filters, near-duplicate stories.

Where search needs an embedder, a fixed or bag-of-words stand-in supplies query vectors:
that is plumbing around the store, the thing under test. The real encoder is tested in
tests/nlp/test_embeddings.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest

from core.records import Document, SourceFamily
from nlp.vectors.base import SearchFilter, VectorPoint, VectorStore, VectorStoreError
from nlp.vectors.search import collapse, search_stories
from tests.factories import T0
from tests.nlp.vectors.support import DIM, FixedEmbedder, make_doc, point, unit

# --- writes ---------------------------------------------------------------------------------


def test_upserting_the_same_ids_twice_keeps_one_point_each_with_the_new_payload(
    vstore: VectorStore,
) -> None:
    docs = [make_doc(n) for n in ("a", "b", "c")]
    vstore.upsert([point(unit(1, i), d) for i, d in enumerate(docs)])
    renamed = docs[0].model_copy(update={"title": "Renamed"})
    vstore.upsert([point(unit(1, i), d) for i, d in enumerate([renamed, *docs[1:]])])
    assert vstore.count() == 3
    (stored,) = vstore.retrieve([docs[0].id])
    assert stored.payload["title"] == "Renamed"
    assert stored.payload["document_id"] == docs[0].id


def test_delete_removes_points_and_counts_only_those_that_existed(vstore: VectorStore) -> None:
    a, b = make_doc("a"), make_doc("b")
    vstore.upsert([point(unit(1), a), point(unit(0, 1), b)])
    assert vstore.delete([a.id, str(uuid.uuid4())]) == 1
    assert vstore.count() == 1
    assert [p.id for p in vstore.retrieve([a.id, b.id])] == [b.id]


def test_set_payload_changes_given_keys_and_keeps_the_others(vstore: VectorStore) -> None:
    a = make_doc("a")
    vstore.upsert([point(unit(1), a)])
    vstore.set_payload(a.id, {"sentiment": 0.5, "label": "positive"})
    (stored,) = vstore.retrieve([a.id])
    assert stored.payload["sentiment"] == 0.5
    assert stored.payload["label"] == "positive"
    assert stored.payload["title"] == "Story a"


def test_vector_of_wrong_dimension_or_bad_id_is_refused_with_a_clear_error(
    vstore: VectorStore,
) -> None:
    with pytest.raises(VectorStoreError, match="3 dimensions"):
        vstore.upsert([VectorPoint(str(uuid.uuid4()), [1.0, 0.0, 0.0], {})])
    with pytest.raises(VectorStoreError, match="not a UUID"):
        vstore.upsert([VectorPoint("doc-1", unit(1), {})])
    with pytest.raises(VectorStoreError, match="NaN"):
        vstore.search([float("nan")] * DIM)
    assert vstore.count() == 0


# --- search and filters ---------------------------------------------------------------------


def test_nearest_neighbours_come_best_first_with_cosine_scores(vstore: VectorStore) -> None:
    angles = [0.0, 0.3, 0.8, 1.4]
    docs = [make_doc(f"n{i}") for i in range(len(angles))]
    vstore.upsert(
        [point(unit(np.cos(a), np.sin(a)), d) for a, d in zip(angles, docs, strict=True)][::-1]
    )
    hits = vstore.search(unit(1, 0), limit=3)
    assert [h.id for h in hits] == [d.id for d in docs[:3]]
    assert [round(h.score, 4) for h in hits] == [round(float(np.cos(a)), 4) for a in angles[:3]]


def test_asset_filter_excludes_documents_that_do_not_tag_the_asset(vstore: VectorStore) -> None:
    btc = make_doc("btc", assets=("BTC",))
    both = make_doc("both", assets=("BTC", "ETH"))
    eth = make_doc("eth", assets=("ETH",))
    vstore.upsert([point(unit(1), btc), point(unit(1, 0.1), both), point(unit(1, 0.2), eth)])
    found = {h.id for h in vstore.search(unit(1), SearchFilter(assets=("eth",)), limit=10)}
    assert found == {both.id, eth.id}
    assert vstore.count(SearchFilter(assets=("BTC",))) == 2
    assert vstore.count(SearchFilter(assets=("SOL",))) == 0


def test_source_and_family_filters_keep_only_matching_documents(vstore: VectorStore) -> None:
    news = make_doc("news", source="rss:alpha")
    other = make_doc("other", source="rss:beta")
    post = make_doc("post", source="reddit:Bitcoin", family=SourceFamily.REDDIT)
    vstore.upsert([point(unit(1), news), point(unit(1, 0.1), other), point(unit(1, 0.2), post)])
    by_source = vstore.search(unit(1), SearchFilter(sources=("rss:beta",)))
    assert [h.id for h in by_source] == [other.id]
    by_family = vstore.search(unit(1), SearchFilter(families=("reddit",)))
    assert [h.id for h in by_family] == [post.id]


def test_published_range_includes_its_start_and_excludes_its_end(vstore: VectorStore) -> None:
    docs = [make_doc(f"p{m}", published_min=m) for m in (0, 60, 120)]
    vstore.upsert([point(unit(1, i * 0.1), d) for i, d in enumerate(docs)])
    window = SearchFilter(
        published_since=T0 + timedelta(minutes=60), published_until=T0 + timedelta(minutes=120)
    )
    assert [h.id for h in vstore.search(unit(1), window)] == [docs[1].id]
    assert vstore.count(SearchFilter(published_since=T0 + timedelta(minutes=1))) == 2


def test_asof_excludes_documents_ingested_later_even_when_published_before(
    vstore: VectorStore,
) -> None:
    """What did we know at T? A story published at T-1h but only ingested at T+1h was not
    known at T, and must not appear: no look-ahead."""
    known = make_doc("known", published_min=0, ingested_min=5)
    late = make_doc("late", published_min=0, ingested_min=120)
    vstore.upsert([point(unit(1), late), point(unit(1, 0.1), known)])
    asof = T0 + timedelta(minutes=60)
    assert [h.id for h in vstore.search(unit(1), SearchFilter(asof=asof))] == [known.id]
    assert vstore.count(SearchFilter(asof=T0 + timedelta(minutes=5))) == 1
    assert vstore.count(SearchFilter(asof=T0 + timedelta(minutes=120))) == 2


def test_filter_rejects_a_time_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before"):
        SearchFilter(published_since=T0, published_until=T0 - timedelta(hours=1))


def test_equal_publication_bounds_are_an_empty_window_not_an_error(vstore: VectorStore) -> None:
    """``[since, until)`` is half-open: since == until holds no time, so nothing matches,
    even a document published at exactly that moment."""
    at = make_doc("at", published_min=60)
    vstore.upsert([point(unit(1), at)])
    window = SearchFilter(
        published_since=T0 + timedelta(minutes=60), published_until=T0 + timedelta(minutes=60)
    )
    assert window.empty and not SearchFilter(published_since=T0).empty
    assert vstore.search(unit(1), window) == []
    assert vstore.count(window) == 0
    assert search_stories(vstore, FixedEmbedder(unit(1)), "etf", window) == []


# --- near duplicates ------------------------------------------------------------------------


def test_near_duplicates_lists_copies_above_the_threshold_but_not_the_point_itself(
    vstore: VectorStore,
) -> None:
    orig, repost, related = make_doc("orig"), make_doc("repost"), make_doc("related")
    vstore.upsert(
        [point(unit(1, 0), orig), point(unit(1, 0.2), repost), point(unit(1, 0.8), related)]
    )
    # cos(repost) = 0.98, cos(related) = 0.78
    dups = vstore.near_duplicates(orig.id, threshold=0.92)
    assert [d.id for d in dups] == [repost.id]
    with pytest.raises(VectorStoreError, match="no point"):
        vstore.near_duplicates(str(uuid.uuid4()))


def _syndicated(vstore: VectorStore) -> dict[str, Document]:
    """One ETF story in three copies (the original first), one ETH copy of it, one other."""
    docs = {
        "orig": make_doc("orig", source="rss:alpha", published_min=0),
        "copy1": make_doc("copy1", source="rss:beta", published_min=30, ingested_min=30),
        "copy2": make_doc("copy2", source="rss:gamma", published_min=45, ingested_min=200),
        "eth": make_doc("eth", assets=("ETH",), published_min=50),
        "other": make_doc("other", published_min=10),
    }
    vecs = {
        "orig": unit(1, 0.05),
        "copy1": unit(1, 0.0),  # the nearest to the query, but not the original
        "copy2": unit(1, 0.1, 0.1),
        "eth": unit(1, 0.02, 0, 0.1),
        "other": unit(0.6, 1),
    }
    vstore.upsert([point(vecs[k], d) for k, d in docs.items()])
    return docs


def test_search_stories_collapses_copies_into_one_story_led_by_the_original(
    vstore: VectorStore,
) -> None:
    docs = _syndicated(vstore)
    stories = search_stories(vstore, FixedEmbedder(unit(1)), "bitcoin etf", limit=5)
    assert len(stories) == 2
    top = stories[0]
    assert top.id == docs["orig"].id  # earliest published, not the best-scoring copy
    assert top.score == pytest.approx(1.0, abs=1e-4)
    assert set(top.member_ids) == {docs[k].id for k in ("orig", "copy1", "copy2", "eth")}
    assert top.duplicates == 3
    assert stories[1].id == docs["other"].id
    assert stories[1].duplicates == 0


def test_search_stories_with_same_asset_keeps_a_copy_about_another_asset_apart(
    vstore: VectorStore,
) -> None:
    docs = _syndicated(vstore)
    stories = search_stories(vstore, FixedEmbedder(unit(1)), "etf", limit=5, same_asset=True)
    by_id = {s.id: s for s in stories}
    assert docs["eth"].id not in by_id[docs["orig"].id].member_ids
    assert by_id[docs["eth"].id].duplicates == 0


def test_search_stories_as_of_does_not_count_copies_that_arrived_later(vstore: VectorStore) -> None:
    docs = _syndicated(vstore)
    asof = SearchFilter(asof=T0 + timedelta(minutes=60))
    stories = search_stories(vstore, FixedEmbedder(unit(1)), "etf", asof, limit=5)
    ids = {i for s in stories for i in s.member_ids}
    assert docs["copy2"].id not in ids
    assert stories[0].member_ids[0] == docs["orig"].id
    assert stories[0].duplicates == 2


def test_collapse_needs_vectors_and_groups_by_cosine_to_the_best_hit() -> None:
    from nlp.vectors.base import VectorHit

    hits = [
        VectorHit("a", 0.99, {"assets": ["BTC"]}, unit(1)),
        VectorHit("b", 0.95, {"assets": ["BTC"]}, unit(1, 0.1)),
        VectorHit("c", 0.50, {"assets": ["BTC"]}, unit(0, 1)),
    ]
    assert [[h.id for h in g] for g in collapse(hits, 0.92)] == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="with_vectors"):
        collapse([VectorHit("a", 1.0, {})])
