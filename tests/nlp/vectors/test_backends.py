"""What differs per vector backend: Qdrant Edge on disk (reopening, memory placement,
ACORN, locking), the factory that builds each backend from settings, and the Qdrant server
backend checked on the wire against recorded answers."""

from __future__ import annotations

import json
import re
import socket
import uuid
from pathlib import Path

import numpy as np
import pytest

from core.paths import DataDirError
from core.settings import Settings, load_settings
from nlp.vectors import build_vector_store
from nlp.vectors.base import SearchFilter, VectorStore, VectorStoreError
from nlp.vectors.client import QdrantClientStore
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.service import SearchUnavailable, VectorSearch
from tests.factories import T0
from tests.loopback import LoopbackServer, Reply
from tests.nlp.vectors.support import DIM, FixedEmbedder, make_doc, point, unit

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
