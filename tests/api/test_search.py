"""``GET /v1/search`` and the service's vector indexing, on the real packaged MiniLM (int8
ONNX), a real Qdrant Edge shard and a SQLite store. Slow tier: the encoder is exported once
per module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from core.records import Document, Label, SentimentScore
from core.settings import Settings
from core.store import Store
from nlp.embeddings import PACKAGED_MODEL, OnnxInt8Embedder, ensure_onnx_export, resolve_model_path
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.service import VectorSearch
from tests.api.keys import bearer
from tests.factories import T0, doc

pytestmark = pytest.mark.slow

MV = "search-test-model"

STORIES = {
    "etf": ("Spot bitcoin ETF inflows hit a record as BTC rallies", ("BTC",), 0),
    "etf-copy": ("Spot bitcoin ETF inflows hit record as BTC rallies - wire", ("BTC",), 30),
    "gas": ("Ethereum gas fees fall to a two-year low after the upgrade", ("ETH",), 60),
    "hack": ("Exchange hacked: attackers drain $40M in ether from a hot wallet", ("ETH",), 90),
    "late": ("Bitcoin ETF sees its biggest outflow day since launch", ("BTC",), 600),
}


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxInt8Embedder:
    cache = tmp_path_factory.mktemp("embeddings")
    export = ensure_onnx_export(resolve_model_path(PACKAGED_MODEL), cache, "all-MiniLM-L6-v2")
    return OnnxInt8Embedder(export, batch_size=8)


def _document(name: str) -> Document:
    title, assets, minutes = STORIES[name]
    return doc(
        f"https://news.example.com/{name}",
        title=title,
        text=title,
        assets=assets,
        minutes=minutes,
        source="rss:wire" if name.endswith("copy") else "rss:example",
    )


def _score(d: Document, p_pos: float) -> SentimentScore:
    return SentimentScore(
        document_id=d.id,
        model_version=MV,
        label=Label.POSITIVE if p_pos > 0.5 else Label.NEUTRAL,
        p_negative=0.05,
        p_neutral=0.95 - p_pos,
        p_positive=p_pos,
        scored_at=d.ingested_at,
    )


@pytest.fixture
def indexed(
    settings: Settings, sqlite_store: Store, embedder: OnnxInt8Embedder, tmp_path: Path
) -> Iterator[tuple[VectorSearch, dict[str, Document]]]:
    docs = {name: _document(name) for name in STORIES}
    sqlite_store.documents.add(list(docs.values()))
    sqlite_store.scores.add([_score(d, 0.8) for d in docs.values()])
    search = VectorSearch(
        settings.vector,
        settings.embeddings,
        settings.paths,
        embedder=embedder,
        vectors=QdrantEdgeStore(tmp_path / "shard", embedder.dim),
    )
    report = search.index(sqlite_store, MV)
    assert report.embedded == len(STORIES)
    yield search, docs
    search.close()


@pytest.fixture
def client(
    settings: Settings, sqlite_store: Store, indexed: tuple[VectorSearch, dict[str, Document]]
) -> Iterator[TestClient]:
    services = Services(store=sqlite_store, model_version=lambda: MV, search=indexed[0])
    with TestClient(create_app(settings, services=services), headers=bearer(sqlite_store)) as c:
        yield c


def test_search_returns_the_matching_story_with_its_citation_and_sentiment(
    client: TestClient, indexed: tuple[VectorSearch, dict[str, Document]]
) -> None:
    docs = indexed[1]
    body = client.get("/v1/search", params={"q": "ether stolen in an exchange hack"}).json()
    top = body["stories"][0]
    assert top["id"] == docs["hack"].id
    assert top["url"] == "https://news.example.com/hack"
    assert top["assets"] == ["ETH"]
    assert top["label"] == "positive" and top["sentiment"] == pytest.approx(0.75)
    assert top["published_at"].startswith("2024-03-01T13:30:00")
    assert 0.3 < top["score"] <= 1.0


def test_copies_of_one_story_come_back_as_one_result_led_by_the_earliest(
    client: TestClient, indexed: tuple[VectorSearch, dict[str, Document]]
) -> None:
    docs = indexed[1]
    params = {"q": "bitcoin ETF inflows record", "asset": "btc"}
    stories = client.get("/v1/search", params=params).json()["stories"]
    etf = next(s for s in stories if s["id"] == docs["etf"].id)
    assert etf["duplicates"] == 1 and etf["duplicate_ids"] == [docs["etf-copy"].id]
    assert all(s["id"] != docs["etf-copy"].id for s in stories)
    apart = client.get("/v1/search", params={**params, "collapse": "false"}).json()["stories"]
    assert {docs["etf"].id, docs["etf-copy"].id} <= {s["id"] for s in apart}


def test_asof_search_cannot_see_documents_ingested_later(
    client: TestClient, indexed: tuple[VectorSearch, dict[str, Document]]
) -> None:
    docs = indexed[1]
    asof = (T0 + timedelta(hours=2)).isoformat()
    params = {"q": "bitcoin ETF outflows", "asof": asof}
    body = client.get("/v1/search", params=params).json()
    assert body["asof"].startswith("2024-03-01T14:00:00")
    ids = {s["id"] for s in body["stories"]}
    assert docs["late"].id not in ids and docs["etf"].id in ids
    later = client.get("/v1/search", params={"q": "bitcoin ETF outflows"}).json()
    assert later["stories"][0]["id"] == docs["late"].id


def test_filters_and_bad_input_give_clear_answers(
    client: TestClient, indexed: tuple[VectorSearch, dict[str, Document]]
) -> None:
    docs = indexed[1]
    eth = client.get("/v1/search", params={"q": "bitcoin", "asset": "ETH"}).json()["stories"]
    assert {s["id"] for s in eth} == {docs["gas"].id, docs["hack"].id}
    wire = client.get("/v1/search", params={"q": "bitcoin", "source": "rss:wire"}).json()
    assert [s["id"] for s in wire["stories"]] == [docs["etf-copy"].id]
    assert client.get("/v1/search", params={"q": "   "}).status_code == 422
    assert client.get("/v1/search").status_code == 422
    window = {"q": "bitcoin", "since": "2024-03-02", "until": "2024-03-01"}
    bad = client.get("/v1/search", params=window)
    assert bad.status_code == 422 and "detail" in bad.json()
    assert client.get("/v1/search", params={"q": "x", "limit": 0}).status_code == 422


def test_search_switched_off_or_unavailable_answers_503_with_the_reason(
    settings: Settings, sqlite_store: Store, tmp_path: Path
) -> None:
    off = Services(store=sqlite_store, model_version=lambda: MV)
    with TestClient(create_app(settings, services=off), headers=bearer(sqlite_store)) as c:
        r = c.get("/v1/search", params={"q": "bitcoin"})
    assert r.status_code == 503 and "vector.in_service" in r.json()["detail"]
    held = QdrantEdgeStore(settings.paths.vectors / "documents", 384)
    try:  # another opener holds the shard: the API says so instead of failing
        search = VectorSearch(settings.vector, settings.embeddings, settings.paths)
        busy = Services(store=sqlite_store, model_version=lambda: MV, search=search)
        with TestClient(create_app(settings, services=busy), headers=bearer(sqlite_store)) as c:
            r = c.get("/v1/search", params={"q": "bitcoin"})
        assert r.status_code == 503 and "open in another process" in r.json()["detail"]
    finally:
        held.close()


def test_indexing_again_embeds_only_what_arrived_since_and_a_new_model_refreshes_payloads(
    sqlite_store: Store, indexed: tuple[VectorSearch, dict[str, Document]]
) -> None:
    search, docs = indexed
    assert search.index(sqlite_store, MV).seen == 0  # nothing new: no walk over old pages
    fresh = doc("https://news.example.com/fresh", title="Solana validators ship a fix", minutes=700)
    sqlite_store.documents.add([fresh])
    again = search.index(sqlite_store, MV)
    assert (again.seen, again.embedded) == (1, 1)
    newer = SentimentScore(
        document_id=docs["gas"].id,
        model_version="newer-model",
        label=Label.NEGATIVE,
        p_negative=0.9,
        p_neutral=0.05,
        p_positive=0.05,
        scored_at=T0 + timedelta(days=1),
    )
    sqlite_store.scores.add([newer])
    switched = search.index(sqlite_store, "newer-model")
    assert switched.seen == len(STORIES) + 1 and switched.embedded == 0
    assert switched.refreshed == 1
    top = search.search("ethereum gas fees", limit=1)[0]
    assert top.id == docs["gas"].id and top.payload["label"] == "negative"
