"""The HTTP API through FastAPI's TestClient over real stores (SQLite file, local PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from core.records import Document, Label, SentimentScore, SourceFamily
from core.settings import Settings
from core.store import Store
from core.store.engine import Database
from nlp.index import update_index
from tests.api.keys import UNCHECKED, bearer

MV = "api-test-model"
H0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
NOW = H0 + timedelta(hours=5, minutes=20)  # the 05:00 bucket is open


def add_doc(
    store: Store,
    minutes: float,
    score: float | None,
    *,
    asset: str = "BTC",
    family: str = "news",
    url: str | None = None,
    source: str = "rss:example",
    title: str | None = None,
    text: str | None = None,
) -> Document:
    """Store one document ingested ``minutes`` after H0, scored ``score`` unless None."""
    at = H0 + timedelta(minutes=minutes)
    d = Document.build(
        source=source,
        family=SourceFamily(family),
        url=url or f"https://news.example.com/{asset.lower()}/{minutes}-{score}",
        title=title or f"{asset} market note at minute {minutes} with score {score}",
        text=text or f"Body of the {asset} note written at minute {minutes}.",
        published_at=at,
        ingested_at=at,
        assets=(asset,),
    )
    store.documents.add([d])
    if score is not None:
        store.scores.add(
            [
                SentimentScore(
                    document_id=d.id,
                    model_version=MV,
                    label=Label.POSITIVE if score > 0 else Label.NEGATIVE,
                    p_negative=(1 - score) / 2,
                    p_neutral=0.0,
                    p_positive=(1 + score) / 2,
                    scored_at=at,
                )
            ]
        )
    return d


@contextmanager
def client_for(
    settings: Settings, store: Store, headers: dict[str, str] | None = None, **services: Any
) -> Iterator[TestClient]:
    """A client over ``store`` with a read key, at the fixed time NOW unless another clock is
    given."""
    svc = Services(store=store, model_version=store.scores.latest_version, clock=lambda: NOW)
    for key, value in services.items():
        setattr(svc, key, value)
    headers = bearer(store) if headers is None else headers
    with TestClient(create_app(settings, services=svc), headers=headers) as client:
        yield client


@pytest.fixture
def client(settings: Settings, sqlite_store: Store) -> Iterator[TestClient]:
    with client_for(settings, sqlite_store) as c:
        yield c


def _btc_history(store: Store) -> None:
    for minutes, score in [(10, 0.6), (40, -0.2), (70, 0.3), (150, -0.5), (200, 0.1), (310, 0.8)]:
        add_doc(store, minutes, score)
    add_doc(store, 100, -0.7, family="reddit")
    add_doc(store, 20, 0.4, asset="ETH")
    update_index(store, MV, Settings().index, now=H0 + timedelta(hours=2, minutes=5))


# --- /v1/sentiment ------------------------------------------------------------------------------


def test_sentiment_series_serves_stored_buckets_then_the_open_one_as_partial(
    settings: Settings, store: Store
) -> None:
    _btc_history(store)
    with client_for(settings, store) as client:
        resp = client.get("/v1/sentiment/btc")
    assert resp.status_code == 200
    body = resp.json()
    assert (body["asset"], body["freq"], body["family"], body["model_version"]) == (
        "BTC",
        "1h",
        "all",
        MV,
    )
    points = body["points"]
    assert [(p["ts"], p["n_docs"], p["partial"]) for p in points] == [
        ("2024-03-01T00:00:00Z", 2, False),
        ("2024-03-01T01:00:00Z", 2, False),
        ("2024-03-01T02:00:00Z", 1, False),  # closed but not stored yet: computed now
        ("2024-03-01T03:00:00Z", 1, False),
        ("2024-03-01T05:00:00Z", 1, True),
    ]
    first, last = points[0], points[-1]
    assert first["asof"] == "2024-03-01T01:00:00Z"
    assert first["value"] == pytest.approx(0.2) == first["mean"]
    assert first["index"] == pytest.approx(60.0)
    assert first["share_bullish"] == 0.5 and first["share_bearish"] == 0.0
    assert set(first) == {
        "ts",
        "asof",
        "value",
        "index",
        "n_docs",
        "mean",
        "dispersion",
        "share_bullish",
        "share_bearish",
        "weighted_mean",
        "zscore",
        "partial",
    }
    assert last["asof"] == "2024-03-01T05:20:00Z"  # provisional: known as of now
    assert last["value"] == pytest.approx(0.8)


def test_a_model_switch_is_served_at_once_despite_the_answer_cache(
    settings: Settings, store: Store
) -> None:
    """The cached answer is keyed by the model too: after the service switches models the
    next request answers with the new one (it had served the old one for ``cache_s``)."""
    _btc_history(store)
    serving = [MV]
    with client_for(settings, store, model_version=lambda: serving[0]) as client:
        assert client.get("/v1/sentiment/BTC").json()["model_version"] == MV
        serving[0] = "api-test-model-2"  # nothing scored by it yet: an empty series
        body = client.get("/v1/sentiment/BTC").json()
    assert body["model_version"] == "api-test-model-2" and body["points"] == []


def test_sentiment_series_filters_by_family_and_day_frequency(
    client: TestClient, sqlite_store: Store
) -> None:
    store = sqlite_store
    _btc_history(store)
    reddit = client.get("/v1/sentiment/BTC", params={"family": "reddit"}).json()
    assert [(p["ts"], p["n_docs"], p["value"]) for p in reddit["points"]] == [
        ("2024-03-01T01:00:00Z", 1, pytest.approx(-0.7))
    ]
    day = client.get("/v1/sentiment/BTC", params={"freq": "1d"}).json()
    assert [(p["ts"], p["n_docs"], p["partial"]) for p in day["points"]] == [
        ("2024-03-01T00:00:00Z", 7, True)
    ]


def test_sentiment_series_honours_start_end_and_limit(
    client: TestClient, sqlite_store: Store
) -> None:
    _btc_history(sqlite_store)
    window = client.get(
        "/v1/sentiment/BTC",
        params={"start": "2024-03-01T01:00:00Z", "end": "2024-03-01T03:00:00+00:00"},
    ).json()
    assert [p["ts"] for p in window["points"]] == ["2024-03-01T01:00:00Z", "2024-03-01T02:00:00Z"]
    newest = client.get("/v1/sentiment/BTC", params={"limit": 2}).json()
    assert [p["ts"] for p in newest["points"]] == ["2024-03-01T03:00:00Z", "2024-03-01T05:00:00Z"]


def test_unknown_asset_is_a_json_404_naming_it(client: TestClient) -> None:
    resp = client.get("/v1/sentiment/NOPECOIN")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "unknown asset 'NOPECOIN': no stored document mentions it (see /v1/assets)",
        "instance": "/v1/sentiment/NOPECOIN",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [({"freq": "5m"}, "freq"), ({"family": "twitter"}, "family"), ({"limit": 0}, "limit")],
)
def test_bad_query_parameters_are_a_json_422_naming_the_field(
    client: TestClient, sqlite_store: Store, params: dict[str, str | int], field: str
) -> None:
    _btc_history(sqlite_store)
    resp = client.get("/v1/sentiment/BTC", params=params)
    assert resp.status_code == 422
    (error,) = resp.json()["errors"]
    assert error["loc"] == ["query", field]
    assert resp.json()["detail"].startswith(f"query parameter {field!r}: ")


def test_start_after_end_is_a_422(client: TestClient, sqlite_store: Store) -> None:
    _btc_history(sqlite_store)
    resp = client.get(
        "/v1/sentiment/BTC", params={"start": "2024-03-02T00:00:00Z", "end": "2024-03-01T00:00:00Z"}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"] == "query parameter 'end': must not be before start"
    assert resp.json()["errors"] == [
        {"loc": ["query", "end"], "msg": "must not be before start", "type": "value_error"}
    ]


def test_asset_with_documents_but_no_scores_has_an_empty_series(
    client: TestClient, sqlite_store: Store
) -> None:
    add_doc(sqlite_store, 10, None, asset="SOL")
    body = client.get("/v1/sentiment/sol").json()
    assert (body["asset"], body["model_version"], body["points"]) == ("SOL", None, [])


# --- /v1/assets and /v1/documents ---------------------------------------------------------------


def test_assets_lists_every_mentioned_asset_with_its_document_count(
    client: TestClient, sqlite_store: Store
) -> None:
    _btc_history(sqlite_store)
    assert client.get("/v1/assets").json() == {
        "assets": [{"asset": "BTC", "documents": 7}, {"asset": "ETH", "documents": 1}]
    }


def test_documents_lists_newest_scored_first_with_every_source(
    client: TestClient, sqlite_store: Store
) -> None:
    store = sqlite_store
    _btc_history(store)
    title = "Bitcoin miners sell reserves as hash price slides to a record low"
    text = "Miners moved coins to exchanges as revenue per hash fell again."
    story = {"title": title, "text": text}
    first = add_doc(store, 290, -0.4, url="https://a.example/miners", source="rss:a", **story)
    add_doc(store, 295, None, url="https://b.example/copy/7", source="rss:b", **story)
    add_doc(store, 300, None, asset="BTC")  # not scored yet: not listed
    body = client.get("/v1/documents", params={"asset": "btc", "limit": 3}).json()
    assert body["model_version"] == MV
    docs = body["documents"]
    assert [d["ingested_at"] for d in docs] == [
        "2024-03-01T05:10:00Z",
        "2024-03-01T04:50:00Z",
        "2024-03-01T03:20:00Z",
    ]
    cited = docs[1]
    assert cited["id"] == first.id
    assert (cited["url"], cited["title"], cited["source"]) == (
        "https://a.example/miners",
        title,
        "rss:a",
    )
    assert cited["sources"] == ["rss:a", "rss:b"]
    assert (cited["label"], cited["assets"]) == ("negative", ["BTC"])
    assert cited["score"] == pytest.approx(-0.4)
    assert cited["published_at"] == "2024-03-01T04:50:00Z"


def test_documents_since_filters_by_ingestion_time(client: TestClient, sqlite_store: Store) -> None:
    _btc_history(sqlite_store)
    body = client.get("/v1/documents", params={"since": "2024-03-01T03:00:00Z"}).json()
    assert [d["ingested_at"] for d in body["documents"]] == [
        "2024-03-01T05:10:00Z",
        "2024-03-01T03:20:00Z",
    ]


def test_documents_for_an_unknown_asset_is_a_404(client: TestClient) -> None:
    resp = client.get("/v1/documents", params={"asset": "nope"})
    assert resp.status_code == 404
    assert "unknown asset 'nope'" in resp.json()["detail"]


# --- /v1/sources and /healthz ---------------------------------------------------------------------


def test_sources_report_health_and_circuit_state(settings: Settings, sqlite_store: Store) -> None:
    now = datetime.now(UTC)
    sqlite_store.sources.record_result("rss:good", ok=True, items=12)
    sqlite_store.sources.record_result("rss:flaky", ok=False, error="HTTP 500 from feed")
    sqlite_store.sources.record_result(
        "reddit:Bitcoin",
        ok=False,
        error="timed out",
        circuit_open_until=now + timedelta(minutes=5),
    )
    with client_for(settings, sqlite_store, clock=lambda: now) as client:
        body = client.get("/v1/sources").json()
    by_name = {s["name"]: s for s in body["sources"]}
    assert by_name["rss:good"]["status"] == "ok"
    assert by_name["rss:good"]["items_today"] == 12
    assert (by_name["rss:flaky"]["status"], by_name["rss:flaky"]["circuit"]) == (
        "failing",
        "closed",
    )
    assert by_name["rss:flaky"]["last_error"] == "HTTP 500 from feed"
    assert (by_name["reddit:Bitcoin"]["status"], by_name["reddit:Bitcoin"]["circuit"]) == (
        "paused",
        "open",
    )


def test_healthz_reports_database_model_and_counts(client: TestClient, sqlite_store: Store) -> None:
    _btc_history(sqlite_store)
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "db": "ok",
        "dialect": "sqlite",
        "model_version": MV,
        "model_upgrade": None,  # no pipeline runs beside this app
        "documents": 8,
        "scores": 8,
        "index_points": body["index_points"],
    }
    assert body["index_points"] > 0


def test_unreachable_database_gives_503_json_not_a_traceback(settings: Settings) -> None:
    dead = Store(Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing"))
    with client_for(settings, dead, headers=UNCHECKED) as client:
        health = client.get("/healthz")
        series = client.get("/v1/sentiment/BTC")
    assert health.status_code == 503
    assert health.json()["status"] == "error"
    assert health.json()["db"].startswith("unreachable: OperationalError")
    assert series.status_code == 503
    assert series.json()["detail"] == "database unavailable, try again"
    dead.close()


def test_unexpected_failure_is_a_json_500(settings: Settings, sqlite_store: Store) -> None:
    def broken_model_version() -> str:
        raise RuntimeError("model registry exploded")

    add_doc(sqlite_store, 10, 0.2)
    svc = Services(store=sqlite_store, model_version=broken_model_version)
    app = create_app(settings, services=svc)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(sqlite_store)) as client:
        resp = client.get("/v1/sentiment/BTC")
    assert resp.status_code == 500
    assert resp.json()["detail"] == "internal server error"


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    resp = client.get("/v2/whatever")
    assert resp.status_code == 404
    assert resp.json()["detail"] == "no such path /v2/whatever (see /docs)"


def test_openapi_docs_describe_every_endpoint(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/sentiment/{asset}",
        "/v1/assets",
        "/v1/documents",
        "/v1/sources",
        "/healthz",
    } <= set(paths)


def test_app_builds_and_closes_its_own_store_from_settings(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
        assert (body["status"], body["dialect"], body["documents"]) == ("ok", "sqlite", 0)
        assert client.get("/v1/assets").status_code == 401
        headers = bearer(client.app.state.services.store)  # type: ignore[attr-defined]
        assert client.get("/v1/assets", headers=headers).json() == {"assets": []}
    assert (settings.data_dir / "cryptosense.db").is_file()
