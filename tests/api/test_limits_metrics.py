"""Rate limits per key (429 + Retry-After), body size limit (413), /v1/sentiment, /readyz and
/metrics, through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from api.limits import RateLimiter
from core.settings import Settings, load_settings
from core.store import Store
from core.store.engine import Database
from core.store.keys import ApiKey
from nlp.index import update_index
from tests.api.keys import UNCHECKED, bearer
from tests.api.test_api import H0, MV, NOW, add_doc


def _services(store: Store) -> Services:
    return Services(store=store, model_version=store.scores.latest_version, clock=lambda: NOW)


@pytest.fixture
def client(settings: Settings, sqlite_store: Store) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, services=_services(sqlite_store)), headers=bearer(sqlite_store)
    ) as c:
        yield c


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0])
    assert [limiter.wait_s("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_s("k") == pytest.approx(0.5)
    assert limiter.wait_s("other") == 0.0  # every key has its own bucket
    now[0] = 0.5
    assert limiter.wait_s("k") == 0.0
    assert limiter.wait_s("k") == pytest.approx(0.5)


def test_a_key_past_its_rate_gets_a_429_problem_with_retry_after(
    tmp_path: object, sqlite_store: Store, settings: Settings
) -> None:
    tight = load_settings(data_dir=settings.data_dir, api={"rate_per_s": 0.5, "rate_burst": 2})
    add_doc(sqlite_store, 10, 0.4)
    one, other = bearer(sqlite_store), bearer(sqlite_store)
    with TestClient(create_app(tight, services=_services(sqlite_store))) as c:
        assert [c.get("/v1/assets", headers=one).status_code for _ in range(2)] == [200, 200]
        resp = c.get("/v1/assets", headers=one)
        assert resp.status_code == 429
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["retry-after"] == "2"
        assert "rate limit of API key" in resp.json()["detail"]
        assert c.get("/v1/assets", headers=other).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes are not limited


def test_a_body_over_the_limit_is_a_413_problem(client: TestClient) -> None:
    resp = client.request("POST", "/v1/assets", content=b"x" * 1_000_001)
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "request body larger than 1000000 bytes"


def test_latest_sentiment_of_every_asset(client: TestClient, sqlite_store: Store) -> None:
    for minutes, score in [(10, 0.6), (70, -0.2), (310, 0.8)]:
        add_doc(sqlite_store, minutes, score)
    add_doc(sqlite_store, 20, 0.4, asset="ETH")
    add_doc(sqlite_store, 30, None, asset="SOL")  # mentioned, never scored
    update_index(sqlite_store, MV, Settings().index, now=H0 + timedelta(hours=3))
    body = client.get("/v1/sentiment").json()
    assert (body["freq"], body["family"], body["model_version"]) == ("1h", "all", MV)
    latest = {a["asset"]: a["point"] for a in body["assets"]}
    assert list(latest) == ["BTC", "ETH", "SOL"]
    assert latest["BTC"]["ts"] == "2024-03-01T05:00:00Z" and latest["BTC"]["partial"] is True
    assert latest["BTC"]["value"] == pytest.approx(0.8)
    assert latest["ETH"]["ts"] == "2024-03-01T00:00:00Z" and latest["ETH"]["partial"] is False
    assert latest["SOL"] is None
    series = client.get("/v1/sentiment/BTC").json()["points"]
    assert series[-1] == latest["BTC"]
    assert client.get("/v1/sentiment", params={"freq": "1w"}).status_code == 422


def test_readyz_says_ready_and_why_not(settings: Settings, client: TestClient) -> None:
    resp = client.get("/readyz", headers={})
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "model": "ok (no scores yet)"},
    }
    dead = Store(Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing"))
    with TestClient(create_app(settings, services=_services(dead)), headers=UNCHECKED) as c:
        resp = c.get("/readyz")
    dead.close()
    assert resp.status_code == 503
    assert resp.json()["status"] == "not ready"
    assert resp.json()["checks"]["database"].startswith("unreachable")


def _sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_without_a_key(
    client: TestClient, sqlite_store: Store
) -> None:
    add_doc(sqlite_store, 10, 0.5)
    update_index(sqlite_store, MV, Settings().index, now=H0 + timedelta(hours=3))
    labels = {"method": "GET", "route": "/v1/sentiment/{asset}", "status": "200"}
    before = _sample(client.get("/metrics").text, "cryptosense_http_requests_total", **labels)
    for asset in ("BTC", "btc"):
        assert client.get(f"/v1/sentiment/{asset}").status_code == 200
    resp = client.get("/metrics", headers={"Authorization": ""})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert _sample(text, "cryptosense_http_requests_total", **labels) == before + 2
    assert "cryptosense_http_request_seconds_bucket" in text
    # the newest stored bucket is 00:00-01:00 (the one document's), NOW is 05:20
    assert _sample(text, "cryptosense_index_lag_seconds") == 4 * 3600 + 20 * 60
    for family in (
        "cryptosense_items_ingested",
        "cryptosense_model_seconds",
        "cryptosense_subscribers",
        "cryptosense_webhook_deliveries",
    ):
        assert f"# TYPE {family}" in text, family


def test_the_limiter_is_given_the_key(sqlite_store: Store) -> None:
    record, _ = sqlite_store.keys.create("read")
    limiter = RateLimiter(1.0, 1)
    limiter.check(record)
    with pytest.raises(Exception, match="retry in 1 s"):
        limiter.check(ApiKey(record.id, "", ("read",), record.created_at))


def test_unknown_query_parameters_are_refused_naming_the_known_ones(client: TestClient) -> None:
    resp = client.get("/v1/sentiment", params={"asset": "BTC"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["query", "asset"]
    assert "this route takes: family, freq" in resp.json()["detail"]


def test_a_wrong_method_lists_every_method_of_the_path(client: TestClient) -> None:
    resp = client.request("OPTIONS", "/v1/webhooks")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST"
    assert resp.json()["detail"] == "OPTIONS is not allowed on /v1/webhooks; allowed: GET, POST"
