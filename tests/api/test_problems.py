"""The API under bad input, as a hostile client would send it: every error is a problem
answer that matches the schema the OpenAPI document promises, never a 5xx; times are ISO 8601
only; equal window bounds are an empty window; unknown assets are a 404 on every route.

Runs on a real SQLite store and a real Qdrant Edge shard; a bag-of-words stand-in replaces the
encoder (the routes are under test here, not the model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from api.app import Services, create_app
from core.settings import Settings
from core.store import Store
from core.store.engine import Database
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.service import VectorSearch
from tests.api.keys import UNCHECKED, bearer
from tests.api.test_api import MV, NOW, add_doc
from tests.nlp.fakes import BagOfWordsEmbedder

TIME_PARAMS = {
    "/v1/sentiment/BTC": ("start", "end"),
    "/v1/documents": ("since",),
    "/v1/search": ("since", "until", "asof"),
    "/v1/signals/BTC": ("start", "end"),
}


@pytest.fixture
def search(settings: Settings, tmp_path: Path) -> Iterator[VectorSearch]:
    embedder = BagOfWordsEmbedder()
    vs = VectorSearch(
        settings.vector,
        settings.embeddings,
        settings.paths,
        embedder=embedder,
        vectors=QdrantEdgeStore(tmp_path / "shard", embedder.dim),
    )
    yield vs
    vs.close()


@pytest.fixture
def client(settings: Settings, sqlite_store: Store, search: VectorSearch) -> Iterator[TestClient]:
    """BTC documents scored but no index stored yet: the series is computed on the fly, the
    path that overflowed on year-1 times."""
    for minutes, score in [(10, 0.6), (70, -0.3), (200, 0.4)]:
        add_doc(sqlite_store, minutes, score)
    search.index(sqlite_store, MV)
    services = Services(
        store=sqlite_store, model_version=lambda: MV, clock=lambda: NOW, search=search
    )
    app = create_app(settings, services=services)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(sqlite_store)) as c:
        yield c


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def _check_documented(spec: dict[str, Any], path: str, resp: Any) -> None:
    """The answer's status is documented for ``path`` and its body matches that schema,
    under the documented media type."""
    assert resp.status_code < 500, (path, resp.status_code, resp.text)
    responses = spec["paths"][path]["get"]["responses"]
    documented = responses.get(str(resp.status_code))
    assert documented is not None, f"{path} answered {resp.status_code}, not documented"
    media = resp.headers["content-type"].split(";")[0]
    assert media in documented["content"], (path, resp.status_code, media)
    schema = {**documented["content"][media]["schema"], "components": spec["components"]}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(resp.json())]
    assert not errors, (path, resp.status_code, resp.json(), errors)


# --- times: ISO 8601 only, in range ---------------------------------------------------------


@pytest.mark.parametrize("param", ["start", "end"])
def test_year_one_bound_on_the_series_is_a_422_problem_not_a_500(
    client: TestClient, param: str
) -> None:
    resp = client.get("/v1/sentiment/BTC", params={param: "0001-01-01T00:00:00Z"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert (body["type"], body["title"], body["status"]) == (
        "about:blank",
        "Unprocessable Content",
        422,
    )
    assert [e["loc"] for e in body["errors"]] == [["query", param]]
    assert "outside the supported range" in body["detail"]


@pytest.mark.parametrize(
    ("path", "param"), [(path, p) for path, params in TIME_PARAMS.items() for p in params]
)
def test_a_bare_number_is_not_taken_as_unix_seconds_by_any_time_parameter(
    client: TestClient, path: str, param: str
) -> None:
    params = {param: "20210101"} | ({"q": "bitcoin"} if path == "/v1/search" else {})
    resp = client.get(path, params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["errors"][0]["loc"] == ["query", param]
    assert "is a number, not a time" in body["detail"]


def test_iso_dates_and_offsets_are_read_as_utc(client: TestClient) -> None:
    day = client.get("/v1/documents", params={"since": "2024-03-01"}).json()
    assert len(day["documents"]) == 3
    offset = client.get("/v1/documents", params={"since": "2024-03-01T02:00:00+01:00"}).json()
    assert [d["ingested_at"] for d in offset["documents"]] == [
        "2024-03-01T03:20:00Z",
        "2024-03-01T01:10:00Z",
    ]


def test_every_time_parameter_is_documented_as_an_iso_date_time_string(
    openapi: dict[str, Any],
) -> None:
    seen = set()
    for path, item in openapi["paths"].items():
        for param in item.get("get", {}).get("parameters", []):
            if param["name"] not in {"start", "end", "since", "until", "asof"}:
                continue
            schema = param["schema"]
            options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
            assert options == [options[0]] and options[0]["type"] == "string", (path, schema)
            assert options[0]["format"] == "date-time"
            assert "ISO 8601" in options[0]["description"]
            seen.add((path, param["name"]))
    expected = {
        (p.replace("/BTC", "/{asset}"), n) for p, names in TIME_PARAMS.items() for n in names
    }
    assert seen == expected


# --- half-open windows ----------------------------------------------------------------------


def test_equal_start_and_end_is_an_empty_series_and_end_before_start_a_422(
    client: TestClient,
) -> None:
    at = "2024-03-01T01:00:00Z"
    empty = client.get("/v1/sentiment/BTC", params={"start": at, "end": at})
    assert empty.status_code == 200 and empty.json()["points"] == []
    reversed_ = client.get("/v1/sentiment/BTC", params={"start": at, "end": "2024-03-01"})
    assert reversed_.status_code == 422
    assert reversed_.json()["errors"][0]["loc"] == ["query", "end"]


def test_equal_since_and_until_is_an_empty_search_and_until_before_since_a_422(
    client: TestClient,
) -> None:
    found = client.get("/v1/search", params={"q": "BTC market note"}).json()["stories"]
    assert found, "the documents are searchable at all"
    at = "2024-03-01T01:10:00Z"  # a document was published at exactly this time
    empty = client.get("/v1/search", params={"q": "BTC market note", "since": at, "until": at})
    assert empty.status_code == 200 and empty.json()["stories"] == []
    bad = client.get("/v1/search", params={"q": "x", "since": at, "until": "2024-03-01T00:00:00Z"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "until"]


# --- unknown assets ---------------------------------------------------------------------------


def test_search_for_an_asset_no_document_mentions_is_a_404_like_the_other_routes(
    client: TestClient,
) -> None:
    for path, params in [
        ("/v1/search", {"q": "bitcoin", "asset": "NOPECOIN"}),
        ("/v1/documents", {"asset": "NOPECOIN"}),
        ("/v1/sentiment/NOPECOIN", {}),
    ]:
        resp = client.get(path, params=params)
        assert resp.status_code == 404, path
        body = resp.json()
        assert body["detail"].startswith("unknown asset 'NOPECOIN': no stored document mentions")
        assert (body["status"], body["title"]) == (404, "Not Found")
    mixed = client.get("/v1/search", params={"q": "bitcoin", "asset": ["nopecoin", "btc"]})
    assert mixed.status_code == 404  # an unknown asset among several is named, not ignored
    assert "'nopecoin'" in mixed.json()["detail"]
    assert client.get("/v1/search", params={"q": "bitcoin", "asset": "btc"}).status_code == 200


# --- every error matches the documented schema ------------------------------------------------

HOSTILE_VALUES = [
    "20210101",
    "1e9",
    "-1",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "2024-02-30",
    "2024-03-01T25:00:00Z",
    "",
    " ",
    "null",
    "\x00",
    "💥" * 50,
    "x" * 5000,
]


def _hostile_requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(documented path, concrete url, params): every parameter of every route, one hostile
    value at a time, the others left at their defaults; required ones kept valid."""
    for template, item in spec["paths"].items():
        if "get" not in item or "application/json" not in item["get"]["responses"]["200"].get(
            "content", {}
        ):
            continue  # bodies of POST routes, and /metrics's text, are checked elsewhere
        params = item["get"].get("parameters", [])
        base = {p["name"]: "bitcoin" for p in params if p["required"] and p["in"] == "query"}
        url = template.replace("{asset}", "BTC")
        yield template, url, base
        for param in params:
            for value in HOSTILE_VALUES:
                if param["in"] == "path":
                    concrete = template.replace("{asset}", quote(value, safe=""))
                    if concrete.rstrip("/") in spec["paths"]:
                        continue  # "/v1/signals/" is redirected to the list, a route of its own
                    yield template, concrete, base
                else:
                    yield template, url, {**base, param["name"]: value}
        if any(p["name"] == "limit" for p in params):
            for value in ("0", "1000000", "2.5"):
                yield template, url, {**base, "limit": value}


def test_every_route_answers_hostile_input_with_its_documented_schema_and_no_5xx(
    client: TestClient, openapi: dict[str, Any]
) -> None:
    answered: dict[int, int] = {}
    for template, url, params in _hostile_requests(openapi):
        resp = client.get(url, params=params)
        _check_documented(openapi, template, resp)
        answered[resp.status_code] = answered.get(resp.status_code, 0) + 1
    assert {200, 404, 422} <= set(answered), answered


def test_unknown_paths_and_methods_are_problems_too(client: TestClient) -> None:
    for resp in (client.get("/v2/whatever"), client.post("/v1/assets"), client.get("/v1/")):
        assert resp.status_code in (404, 405)
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["status"] == resp.status_code and body["detail"], body
    assert client.post("/v1/assets").headers["allow"] == "GET"


def test_error_answers_are_documented_as_problems_on_every_route(openapi: dict[str, Any]) -> None:
    for path, item in openapi["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            assert {"500", "503"} <= set(responses), path
            for status, documented in responses.items():
                if int(status) < 400 or (path in ("/healthz", "/readyz") and status == "503"):
                    continue  # the probes' own body, so a probe reads one shape
                (media,) = documented["content"]
                assert media == "application/problem+json", (path, status)
                ref = documented["content"][media]["schema"]["$ref"]
                want = "ValidationProblem" if status == "422" else "Problem"
                assert ref == f"#/components/schemas/{want}", (path, status)
    assert "HTTPValidationError" not in openapi["components"]["schemas"]


def test_unexpected_failure_is_a_problem_without_the_traceback(
    settings: Settings, sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("secret internals at /srv/app.py line 12")

    add_doc(sqlite_store, 10, 0.2)
    app = create_app(settings, services=Services(store=sqlite_store, model_version=broken))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(sqlite_store)) as c:
        resp = c.get("/v1/sentiment/BTC")
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal server error",
        "instance": "/v1/sentiment/BTC",
    }
    assert "secret internals" not in resp.text
    assert any("secret internals" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_database_outage_is_a_503_problem_on_a_data_route(settings: Settings) -> None:
    dead = Store(Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing"))
    app = create_app(settings, services=Services(store=dead, model_version=lambda: None))
    with TestClient(app, headers=UNCHECKED) as c:
        resp = c.get("/v1/assets")
    dead.close()
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "database unavailable, try again"


def test_times_near_the_supported_edges_answer_without_error(client: TestClient) -> None:
    """The earliest and latest accepted times go through the series' bucket arithmetic and
    warm-up without overflowing."""
    edges = [
        {"start": "1970-01-01T00:00:00Z"},
        {"end": "1970-01-01T00:00:00Z"},
        {"start": "8999-12-31T23:00:00Z", "freq": "1d"},
        {"end": "9000-01-01T00:00:00Z"},
    ]
    for params in edges:
        resp = client.get("/v1/sentiment/BTC", params=params)
        assert resp.status_code == 200, (params, resp.text)
