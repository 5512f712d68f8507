"""``POST /v1/query/{kind}`` and ``GET /v1/briefings[/{date}]`` with the real agent on its
deterministic path (no LLM) over the seeded store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from agent.briefing import make_briefing
from agent.queries import QUERY_KINDS
from core.settings import Settings
from core.store import Store
from tests.api.agent_app import WatchedAgent, agent_app
from tests.api.keys import bearer
from tests.api.live import NOW

DAY = NOW.date()


@pytest.fixture
def client(settings: Settings, sqlite_store: Store) -> Iterator[tuple[TestClient, WatchedAgent]]:
    with (
        agent_app(settings, sqlite_store) as (app, agent),
        TestClient(app, headers=bearer(sqlite_store, "read")) as c,
    ):
        yield c, agent


def test_every_query_kind_has_its_schema_in_the_openapi(
    client: tuple[TestClient, WatchedAgent],
) -> None:
    spec = client[0].get("/openapi.json").json()
    for kind, schema in QUERY_KINDS.items():
        post = spec["paths"][f"/v1/query/{kind}"]["post"]
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{schema.__name__}")
        assert {p["name"] for p in post["parameters"]} == {"asof"}
        answer = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert answer.endswith("/Answer")


def test_a_query_answers_with_the_tools_figures_as_of_the_time_asked(
    client: tuple[TestClient, WatchedAgent],
) -> None:
    c, agent = client
    resp = c.post("/v1/query/market_context", json={"asset": "btc", "horizon_hours": 24})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["kind"] == "market_context" and body["assets"] == ["BTC"]
    direct = agent.call_tool("sentiment_index", {"asset": "BTC", "window_hours": 24})
    served = {
        f["name"]: f["value"] for f in body["figures"] if f["source_tool"] == "sentiment_index"
    }
    assert served and all(
        served[f["name"]] == f["value"] for f in direct["figures"] if f["name"] in served
    )
    earlier = c.post(
        "/v1/query/market_context",
        params={"asof": "2024-03-01T12:00:00Z"},
        json={"asset": "BTC", "horizon_hours": 24},
    ).json()
    assert earlier["asof"] == "2024-03-01T12:00:00Z"
    assert earlier["figures"] != body["figures"]


def test_bad_queries_are_problems_that_say_why(client: tuple[TestClient, WatchedAgent]) -> None:
    c, _ = client
    extra = c.post("/v1/query/compare", json={"assets": ["BTC"]})
    assert extra.status_code == 422 and "assets" in extra.json()["detail"]
    uncovered = c.post("/v1/query/market_context", json={"asset": "DOGE"})
    assert uncovered.status_code == 422
    assert "not covered: DOGE" in uncovered.json()["detail"]
    unknown = c.post("/v1/query/weather", json={})
    assert unknown.status_code == 404
    assert "unknown query kind 'weather'; kinds: market_context" in unknown.json()["detail"]
    bad_time = c.post("/v1/query/top_movers", params={"asof": "20240301"}, json={})
    assert bad_time.status_code == 422


def test_briefings_are_listed_and_served_as_markdown_html_or_json(
    client: tuple[TestClient, WatchedAgent], sqlite_store: Store
) -> None:
    c, agent = client
    assert c.get("/v1/briefings").json() == {"briefings": []}
    b = make_briefing(agent, DAY)
    sqlite_store.briefings.put(b)
    (item,) = c.get("/v1/briefings").json()["briefings"]
    assert item["day"] == DAY.isoformat() and item["sha256"] == b.sha256
    assert item["url"] == f"/v1/briefings/{DAY.isoformat()}"

    md = c.get(item["url"])
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text == b.markdown
    html = c.get(item["url"], headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and html.text == b.html
    assert "default-src 'none'" in html.headers["content-security-policy"]
    both = c.get(item["url"], params={"format": "json"}).json()
    assert (both["markdown"], both["html"]) == (b.markdown, b.html)
    prefer = c.get(item["url"], headers={"Accept": "text/html;q=0.5, text/markdown"})
    assert prefer.text == b.markdown

    missing = c.get(f"/v1/briefings/{date(2020, 1, 1).isoformat()}")
    assert missing.status_code == 404 and "no briefing for 2020-01-01" in missing.json()["detail"]
    assert c.get("/v1/briefings/yesterday").status_code == 422
    assert c.get(item["url"], params={"format": "pdf"}).status_code == 422
