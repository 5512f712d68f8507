"""Vector store behaviour, the same suite on every backend available: Qdrant Edge in-process,
qdrant-client local mode, and a Qdrant server when CRYPTOSENSE_TEST_QDRANT_URL reaches one.

Vectors here are written by hand (a few dimensions that mean something) so each test knows
the exact cosines it expects. Where search needs an embedder, a fixed or bag-of-words
stand-in supplies query vectors: that is plumbing around the store, the thing under test.
The real encoder is tested in test_embeddings.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from numpy.typing import NDArray

from core.paths import DataDirError
from core.records import Document, Label, SentimentScore, SourceFamily
from core.settings import Settings, load_settings
from core.store import Store, build_store
from cryptosense.cli import main
from nlp.vectors import build_vector_store
from nlp.vectors.base import (
    DocPayload,
    SearchFilter,
    VectorPoint,
    VectorStore,
    VectorStoreError,
    from_epoch,
)
from nlp.vectors.client import QdrantClientStore
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.indexing import index_documents
from nlp.vectors.search import collapse, search_stories
from nlp.vectors.service import SearchUnavailable, VectorSearch
from tests.factories import T0, doc
from tests.loopback import LoopbackServer, Reply
from tests.nlp.fakes import BagOfWordsEmbedder

DIM = 16
SERVER_ENV = "CRYPTOSENSE_TEST_QDRANT_URL"


def unit(*components: float) -> NDArray[np.float32]:
    """A unit vector whose first components are given (the rest zero)."""
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(components)] = components
    return v / np.linalg.norm(v)


def make_doc(
    name: str,
    *,
    assets: tuple[str, ...] = ("BTC",),
    source: str = "rss:alpha",
    family: SourceFamily = SourceFamily.NEWS,
    published_min: int = 0,
    ingested_min: int | None = None,
    title: str | None = None,
) -> Document:
    d = doc(
        f"https://news.example.com/{name}",
        title=title or f"Story {name}",
        text=f"Body of {name}.",
        source=source,
        assets=assets,
        family=family,
        minutes=published_min,
    )
    if ingested_min is not None:
        d = d.model_copy(update={"ingested_at": T0 + timedelta(minutes=ingested_min)})
    return d


def point(vector: NDArray[np.float32], document: Document) -> VectorPoint:
    return VectorPoint(document.id, vector, DocPayload.from_document(document).to_payload())


def _server_url() -> str:
    url = os.environ.get(SERVER_ENV)
    if not url:
        pytest.skip(f"no Qdrant server: set {SERVER_ENV}=http://127.0.0.1:6333 to include one")
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or 6333), timeout=1):
            pass
    except OSError:
        pytest.skip(f"{SERVER_ENV}={url} is not reachable")
    return url


@pytest.fixture(
    params=["edge", "local", pytest.param("server", marks=pytest.mark.integration)],
)
def vstore(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """One empty 16-d store per test on each backend."""
    store: VectorStore
    if request.param == "edge":
        store = QdrantEdgeStore(tmp_path / "edge", DIM)
    elif request.param == "local":
        store = QdrantClientStore("docs", DIM, location=":memory:")
    else:
        name = f"cryptosense_test_{uuid.uuid4().hex[:10]}"
        store = QdrantClientStore(name, DIM, url=_server_url())
    yield store
    if isinstance(store, QdrantClientStore) and request.param == "server":
        store.drop()
    store.close()


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


class FixedEmbedder:
    """Answers every query with one vector: stands in for the encoder around the store."""

    name = "fixed/test"
    dim = DIM

    def __init__(self, vector: NDArray[np.float32]) -> None:
        self.vector = vector

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.tile(self.vector, (len(texts), 1))


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


def test_search_stories_as_of_does_not_count_copies_that_arrived_later(
    vstore: VectorStore,
) -> None:
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


# --- persistence and the factory ------------------------------------------------------------


def test_edge_store_reopens_from_disk_with_its_points_and_payloads(tmp_path: Path) -> None:
    a, b = make_doc("a"), make_doc("b", assets=("ETH",))
    with QdrantEdgeStore(tmp_path / "shard", DIM) as first:
        first.upsert([point(unit(1), a), point(unit(0, 1), b)])
    with QdrantEdgeStore(tmp_path / "shard", DIM) as again:
        assert again.count() == 2
        assert [h.id for h in again.search(unit(0, 1), SearchFilter(assets=("ETH",)))] == [b.id]
        assert again.retrieve([a.id])[0].payload["assets"] == ["BTC"]


def test_edge_store_optimize_keeps_every_point_searchable(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    docs = [make_doc(f"o{i}") for i in range(300)]
    vecs = rng.standard_normal((300, DIM)).astype(np.float32)
    with QdrantEdgeStore(tmp_path / "shard", DIM) as vs:
        vs.upsert([point(v, d) for v, d in zip(vecs, docs, strict=True)])
        vs.optimize()
        assert vs.count() == 300
        assert vs.search(vecs[17], limit=1)[0].id == docs[17].id


@pytest.mark.parametrize(("first", "then"), [("cached", "pinned"), ("pinned", "cached")])
def test_edge_store_reopens_in_either_memory_placement_with_the_same_results(
    first: str, then: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(5)
    docs = [make_doc(f"m{i}") for i in range(200)]
    vecs = rng.standard_normal((200, DIM)).astype(np.float32)
    with QdrantEdgeStore(tmp_path / "shard", DIM, memory=first) as vs:
        vs.upsert([point(v, d) for v, d in zip(vecs, docs, strict=True)])
        vs.optimize()
        before = [(h.id, round(h.score, 5)) for h in vs.search(vecs[3], limit=5)]
    config = json.loads((tmp_path / "shard" / "edge_config.json").read_text())
    assert config["vectors"][""]["memory"] == first
    with QdrantEdgeStore(tmp_path / "shard", DIM, memory=then) as again:
        assert [(h.id, round(h.score, 5)) for h in again.search(vecs[3], limit=5)] == before
        assert before[0][0] == docs[3].id
    config = json.loads((tmp_path / "shard" / "edge_config.json").read_text())
    assert config["payload_memory"] == config["hnsw_config"]["memory"] == then


def test_edge_store_gives_the_same_filtered_answers_with_and_without_acorn(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    docs = [
        make_doc(f"a{i}", assets=("BTC",) if i % 20 == 0 else ("ETH",), ingested_min=i)
        for i in range(400)
    ]
    vecs = rng.standard_normal((400, DIM)).astype(np.float32)
    flt = SearchFilter(assets=("BTC",))
    with QdrantEdgeStore(tmp_path / "shard", DIM) as vs:
        vs.upsert([point(v, d) for v, d in zip(vecs, docs, strict=True)])
        vs.optimize()
        without = [h.id for h in vs.search(vecs[40], flt, limit=5)]
        vs.tune_search(acorn=True)
        with_acorn = [h.id for h in vs.search(vecs[40], flt, limit=5)]
    assert with_acorn == without
    assert with_acorn[0] == docs[40].id and len(with_acorn) == 5


def test_edge_store_refuses_an_unknown_memory_placement(tmp_path: Path) -> None:
    with pytest.raises(VectorStoreError, match="memory must be one of pinned, cached"):
        QdrantEdgeStore(tmp_path / "shard", DIM, memory="swap")
    assert not (tmp_path / "shard").exists()


def test_edge_store_held_by_another_opener_gives_a_clear_error(tmp_path: Path) -> None:
    with (
        QdrantEdgeStore(tmp_path / "shard", DIM),
        pytest.raises(VectorStoreError, match="open in another process"),
    ):
        QdrantEdgeStore(tmp_path / "shard", DIM)


@pytest.mark.parametrize("backend", ["edge", "local"])
def test_reopening_a_store_with_another_dimension_is_refused(backend: str, tmp_path: Path) -> None:
    def build(dim: int) -> VectorStore:
        if backend == "edge":
            return QdrantEdgeStore(tmp_path / "v", dim)
        return QdrantClientStore("docs", dim, path=tmp_path / "v")

    build(DIM).close()
    with pytest.raises(VectorStoreError, match=r"(other vectors|holds 16-d)"):
        build(32)


def _build(settings: Settings, dim: int) -> VectorStore:
    return build_vector_store(settings.vector, settings.paths, dim)


def test_factory_builds_each_configured_backend(tmp_path: Path) -> None:
    edge = _build(load_settings(data_dir=tmp_path / "var"), DIM)
    assert edge.description.startswith("edge:")
    config_file = tmp_path / "var" / "vectors" / "documents" / "edge_config.json"
    assert json.loads(config_file.read_text())["vectors"][""]["memory"] == "pinned"
    edge.close()
    cached = _build(load_settings(data_dir=tmp_path / "var", vector={"memory": "cached"}), DIM)
    assert json.loads(config_file.read_text())["vectors"][""]["memory"] == "cached"
    cached.close()
    local = _build(
        load_settings(data_dir=tmp_path / "var", vector={"backend": "local", "url": ":memory:"}),
        DIM,
    )
    assert local.description == "local::memory:/documents"
    local.close()
    with pytest.raises(VectorStoreError, match="url is unset"):
        _build(load_settings(vector={"backend": "server"}), DIM)


def test_factory_names_a_vector_folder_it_cannot_create(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    settings.paths.ensure()
    settings.paths.vectors.write_text("a file where the vectors folder would go\n")
    with pytest.raises(DataDirError, match=r"cannot create .*vectors/documents"):
        _build(settings, DIM)
    search = VectorSearch(
        settings.vector, settings.embeddings, settings.paths, embedder=FixedEmbedder(unit(1))
    )
    with pytest.raises(SearchUnavailable, match="cannot create"):
        search.search("bitcoin")


# --- the server backend on the wire ---------------------------------------------------------


def _ok(result: object) -> Reply:
    body = json.dumps({"result": result, "status": "ok", "time": 0.0})
    return Reply(200, body, {"Content-Type": "application/json"})


def test_server_store_creates_collection_and_payload_indexes_and_sends_filters(
    loopback: LoopbackServer,
) -> None:
    """The real qdrant-client against scripted Qdrant REST replies on 127.0.0.1: what the
    server would be asked to do, and how a filter travels."""
    hit = {"id": str(uuid.UUID(int=7)), "version": 1, "score": 0.93, "payload": {"title": "x"}}
    loopback.route("/collections/docs/exists", _ok({"exists": False}))
    loopback.route("/collections/docs", _ok(True), "PUT")
    loopback.route(
        "/collections/docs/index", _ok({"operation_id": 1, "status": "completed"}), "PUT"
    )
    loopback.route("/collections/docs/points/query", _ok({"points": [hit]}), "POST")
    store = QdrantClientStore("docs", DIM, url=loopback.base_url)
    hits = store.search(unit(1), SearchFilter(assets=("btc",), asof=T0), limit=3)
    store.close()
    assert [(h.id, h.score) for h in hits] == [(hit["id"], 0.93)]
    created = json.loads(loopback.requests[1].body)
    assert created["vectors"] == {"size": DIM, "distance": "Cosine"}
    indexes = {
        json.loads(r.body)["field_name"]: json.loads(r.body)["field_schema"]
        for r in loopback.requests
        if r.path.endswith("/index")
    }
    assert indexes == {
        "assets": "keyword",
        "source": "keyword",
        "family": "keyword",
        "published_at": "float",
        "ingested_at": "float",
    }
    query = json.loads(loopback.requests[-1].body)
    assert query["limit"] == 3
    assert query["filter"]["must"] == [
        {"key": "assets", "match": {"any": ["BTC"]}},
        {"key": "ingested_at", "range": {"lte": T0.timestamp()}},
    ]


def test_server_that_fails_gives_a_clear_error_naming_it(loopback: LoopbackServer) -> None:
    loopback.route("/collections/docs/exists", Reply(503, "overloaded"))
    with pytest.raises(VectorStoreError, match=re.escape(loopback.base_url)):
        QdrantClientStore("docs", DIM, url=loopback.base_url)


def test_unreachable_server_gives_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(VectorStoreError, match=f"127.0.0.1:{port}"):
        QdrantClientStore("docs", DIM, url=f"http://127.0.0.1:{port}", timeout_s=1)


def test_server_holding_another_dimension_is_refused(loopback: LoopbackServer) -> None:
    loopback.route("/collections/docs/exists", _ok({"exists": True}))
    info = {
        "status": "green",
        "optimizer_status": "ok",
        "segments_count": 1,
        "config": {
            "params": {"vectors": {"size": 768, "distance": "Cosine"}},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 0,
                "flush_interval_sec": 5,
            },
        },
        "payload_schema": {},
    }
    loopback.route("/collections/docs", _ok(info))
    with pytest.raises(VectorStoreError, match="holds 768-d vectors"):
        QdrantClientStore("docs", DIM, url=loopback.base_url)


# --- indexing stored documents --------------------------------------------------------------


def _score(document_id: str, p_pos: float, version: str = "sent-v1") -> SentimentScore:
    return SentimentScore(
        document_id=document_id,
        model_version=version,
        label=Label.POSITIVE if p_pos > 0.5 else Label.NEUTRAL,
        p_negative=0.1,
        p_neutral=0.9 - p_pos,
        p_positive=p_pos,
        scored_at=T0 + timedelta(hours=1),
    )


def test_store_documents_page_walks_every_document_once_with_assets(store: Store) -> None:
    docs = [make_doc(f"pg{i}", published_min=i % 3, assets=("BTC", "ETH")) for i in range(7)]
    store.documents.add(docs)
    seen: list[Document] = []
    after = None
    while page := store.documents.page(after, limit=3):
        seen.extend(page)
        after = (page[-1].ingested_at, page[-1].id)
    assert sorted(d.id for d in seen) == sorted(d.id for d in docs)
    assert all(d.assets == ("BTC", "ETH") for d in seen)


def test_index_documents_embeds_each_document_once_with_its_sentiment(
    sqlite_store: Store, tmp_path: Path
) -> None:
    docs = [
        make_doc("etf", title="Bitcoin ETF inflows hit a record"),
        make_doc("gas", title="Ethereum gas fees fall", assets=("ETH",)),
        make_doc("sol", title="Solana outage halts blocks", assets=("SOL",)),
    ]
    sqlite_store.documents.add(docs)
    sqlite_store.scores.add([_score(docs[0].id, 0.8)])
    embedder = BagOfWordsEmbedder()
    with QdrantEdgeStore(tmp_path / "shard", embedder.dim) as vs:
        first = index_documents(sqlite_store, embedder, vs, "sent-v1", page_size=2)
        assert (first.embedded, first.seen, first.refreshed) == (3, 3, 0)
        payload = vs.retrieve([docs[0].id])[0].payload
        assert payload["sentiment"] == pytest.approx(0.7)
        assert payload["label"] == "positive"
        assert payload["embedder"] == "bag-of-words/test"
        assert from_epoch(payload["ingested_at"]) == docs[0].ingested_at
        assert vs.retrieve([docs[1].id])[0].payload["sentiment"] is None

        sqlite_store.scores.add([_score(docs[1].id, 0.2)])
        again = index_documents(sqlite_store, embedder, vs, "sent-v1")
        assert (again.embedded, again.refreshed) == (0, 1)
        assert vs.retrieve([docs[1].id])[0].payload["label"] == "neutral"
        assert vs.count() == 3
        assert sum(embedder.calls) == 3  # nothing was embedded twice


def test_index_documents_respects_limit_and_skips_documents_without_text(
    sqlite_store: Store, tmp_path: Path
) -> None:
    empty = Document.build(
        source="rss:alpha",
        url="https://news.example.com/empty",
        title="   ",
        text="",
        published_at=T0,
        ingested_at=T0,
    )
    docs = [make_doc(f"l{i}", published_min=i) for i in range(5)]
    sqlite_store.documents.add([empty, *docs])
    embedder = BagOfWordsEmbedder()
    with QdrantEdgeStore(tmp_path / "shard", embedder.dim) as vs:
        limited = index_documents(sqlite_store, embedder, vs, None, limit=2, page_size=10)
        assert (limited.embedded, limited.skipped_empty) == (2, 1)
        rest = index_documents(sqlite_store, embedder, vs, None)
        assert rest.embedded == 3
        assert rest.skipped_empty == 1
        assert vs.count() == 5


def test_index_documents_refuses_an_embedder_of_another_dimension(
    sqlite_store: Store, tmp_path: Path
) -> None:
    with (
        QdrantEdgeStore(tmp_path / "shard", DIM) as vs,
        pytest.raises(VectorStoreError, match="64-d vectors"),
    ):
        index_documents(sqlite_store, BagOfWordsEmbedder(), vs, None)


# --- command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    return settings


def test_search_with_a_window_that_ends_before_it_starts_exits_2_with_a_message(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "etf", "--since", "2024-03-02", "--until", "2024-03-01"])
    assert code == 2
    assert "--until must not be before --since" in capsys.readouterr().err


def test_search_with_an_unparseable_time_exits_2_without_a_traceback(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "etf", "--asof", "yesterday-ish"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 date or time" in capsys.readouterr().err


def test_search_refuses_a_bare_number_as_a_time(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "etf", "--since", "20210101"])
    assert exit_info.value.code == 2
    assert "is a number, not a time" in capsys.readouterr().err


def test_embed_with_an_unknown_sentiment_model_exits_2_naming_the_stored_ones(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["embed", "--model-version", "nope"])
    assert code == 2
    assert "no scores from model version 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_then_search_prints_stories_as_json_lines(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end on the real int8 encoder: stored documents -> embed -> search."""
    store = build_store(cli_env.db, cli_env.paths)
    etf = "Spot bitcoin ETF inflows hit a record as BTC rallies past resistance"
    store.documents.add(
        [
            make_doc("etf", title=etf),
            make_doc("etf-copy", title=etf + " - wire", source="rss:beta", published_min=20),
            make_doc("gas", title="Ethereum gas fees drop after the upgrade", assets=("ETH",)),
            make_doc("dog", title="Local dog show draws a record crowd", assets=()),
        ]
    )
    store.close()
    assert main(["embed"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["embedded"] == 4 and summary["total"] == 4
    assert main(["search", "bitcoin ETF inflows", "--limit", "3"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["title"] == etf
    assert lines[0]["duplicates"] == 1
    assert lines[0]["published_at"] == T0.isoformat()
    assert main(["search", "bitcoin ETF inflows", "--asset", "ETH"]) == 0
    only_eth = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["assets"] for x in only_eth] == [["ETH"]]
