"""The dashboard in a real headless browser (Debian's chromium) against a real uvicorn server
over a store holding documents, their index, candles and signals."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.briefing import make_briefing
from agent.llm import LlamaCppChat
from core.settings import Settings
from core.store import Store
from tests.api.agent_app import agent_app
from tests.api.live import HOSTILE_TITLE, NOW, serve_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def key(sqlite_store: Store) -> str:
    _, key = sqlite_store.keys.create("read,chat", name="analyst")
    return key


@pytest.fixture
def base_url(settings: Settings, sqlite_store: Store, tiny: LlamaCppChat) -> Iterator[str]:
    with agent_app(settings, sqlite_store, tiny) as (app, agent), serve_app(app) as url:
        sqlite_store.briefings.put(make_briefing(agent, NOW.date()))
        yield url


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/setup.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_page_and_static_files_answer_without_a_key_with_a_strict_policy(base_url: str) -> None:
    page = httpx.get(f"{base_url}/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"{base_url}/dashboard/static/dashboard.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert "innerHTML" not in script.text  # untrusted text never parsed as HTML


def test_data_calls_need_a_key(base_url: str) -> None:
    resp = httpx.get(f"{base_url}/v1/signals")
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"


def test_dashboard_draws_charts_signals_and_stories_from_the_api(
    base_url: str, page: Any, key: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base_url}/dashboard")
    assert "Enter an API key" in page.inner_text("#status")
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("body[data-loaded=true]", timeout=20_000)

    btc = page.locator("svg.chart[data-asset=BTC]")
    index_points = int(btc.get_attribute("data-index-points") or 0)
    served = httpx.get(
        f"{base_url}/v1/sentiment/BTC",
        params={"limit": 240},
        headers={"Authorization": f"Bearer {key}"},
    ).json()["points"]
    assert index_points == len(served) > 20  # every served point drawn
    assert int(btc.get_attribute("data-price-points") or 0) == 30
    path = btc.locator("path.index-line").get_attribute("d") or ""
    assert path.startswith("M") and path.count("L") == index_points - 1
    assert btc.locator("path.price-line").count() == 1
    assert page.locator("svg.chart[data-asset=ETH] path.index-line").count() == 1

    row = page.locator("#signals tbody tr").first.inner_text()
    assert "BTC" in row and "long" in row and "50%" in row  # one hit out of two resolved

    stories = page.locator("#stories li")
    assert stories.count() == 15
    first = stories.first
    assert first.locator("a").inner_text() == HOSTILE_TITLE  # shown as text, not markup
    assert page.evaluate("document.body.dataset.pwned") is None
    assert page.locator("#stories img").count() == 0
    assert page.inner_text("#briefing-day") == NOW.date().isoformat()
    briefing = page.locator("#briefing")
    assert briefing.locator("h4").count() >= 2  # "## BTC", "## ETH": one section per asset
    assert briefing.locator("img.briefing-chart").count() >= 2  # charts from data: URIs
    assert briefing.locator("a[href^='https://news.example.com/']").count() >= 5
    assert page.locator("#briefing img:not(.briefing-chart)").count() == 0
    assert errors == []
    assert page.evaluate("localStorage.getItem('cryptosense.apiKey')") == key


def test_chat_box_streams_the_answer_with_its_sources(base_url: str, page: Any, key: str) -> None:
    page.goto(f"{base_url}/dashboard")
    page.evaluate(f"localStorage.setItem('cryptosense.apiKey', {key!r})")
    page.reload()
    page.wait_for_selector("body[data-loaded=true]", timeout=20_000)
    page.evaluate(
        """() => {
          window.__growth = [];
          const log = document.getElementById("chat-log");
          new MutationObserver(() => {
            const a = log.querySelector(".answer");
            if (a) window.__growth.push(a.textContent.length);
          }).observe(log, {subtree: true, childList: true, characterData: true});
        }"""
    )
    page.fill("#chat-input", "What is driving ETH sentiment this week?")
    page.click("#chat-send")
    page.wait_for_selector(".turn[data-state=streaming]", timeout=10_000)
    page.wait_for_selector(".turn[data-state=done]", timeout=120_000)
    turn = page.locator(".turn").first
    assert turn.locator(".question").inner_text() == "What is driving ETH sentiment this week?"
    assert turn.locator(".answer").inner_text().strip()
    assert turn.locator(".figures li").count() >= 1
    cites = turn.locator(".citations a")
    assert cites.count() >= 1
    assert (cites.first.get_attribute("href") or "").startswith("https://news.example.com/eth/")
    growth = page.evaluate("window.__growth")
    assert len(set(growth)) >= 3, growth  # the text grew token by token before the answer
    assert page.locator("#status.error").count() == 0
