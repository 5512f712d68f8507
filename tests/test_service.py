"""The whole path, as `cryptosense run` wires it: demo feeds on 127.0.0.1 -> the real RSS
collector -> store -> a real fine-tuned model -> as-of index -> the HTTP API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import Services, create_app
from collectors.live.demo import DemoFeedServer
from core.settings import Settings
from core.store import build_store
from cryptosense.service import Pipeline, PipelineStatus, build_sources
from nlp.sentiment.train import TrainResult
from nlp.vectors.service import VectorSearch
from tests.api.keys import bearer

pytestmark = pytest.mark.slow


def test_demo_feeds_flow_through_model_and_index_to_the_api(
    settings: Settings, trained_sentiment: TrainResult
) -> None:
    demo_settings = settings.model_copy(
        update={
            "demo": settings.demo.model_copy(update={"mode": "on"}),
            "sentiment": settings.sentiment.model_copy(
                update={"model": str(trained_sentiment.path), "runtime": "torch"}
            ),
        }
    )
    store = build_store(demo_settings.db, demo_settings.paths)
    collectors, server = build_sources(demo_settings, demo=True)
    assert isinstance(server, DemoFeedServer)
    search = VectorSearch(demo_settings.vector, demo_settings.embeddings, demo_settings.paths)
    try:
        status = PipelineStatus(demo=True)
        pipeline = Pipeline(
            demo_settings,
            store,
            collectors,
            status,
            search=search,
        )
        report = pipeline.step()
        assert report["polled"] == len(collectors) == 6
        assert report["scored"] == store.documents.count() > 50
        assert report["embedded"] == report["scored"] == search.count()
        again = pipeline.step()  # nothing is due yet; nothing is scored or embedded twice
        assert again["scored"] == again["embedded"] == 0

        services = Services(store=store, model_version=lambda: status.model_version, search=search)
        app = create_app(demo_settings, services=services)
        with TestClient(app, headers=bearer(store)) as client:
            body = client.get("/v1/sentiment/btc").json()
            assert body["model_version"] == trained_sentiment.version
            points = body["points"]
            assert points, body
            assert sum(p["n_docs"] for p in points) >= 5
            assert all(-1.0 <= p["value"] <= 1.0 for p in points)
            daily = client.get("/v1/sentiment/ETH", params={"freq": "1d"}).json()
            assert daily["points"]
            docs = client.get("/v1/documents", params={"asset": "BTC", "limit": 5}).json()
            assert docs
            found = client.get("/v1/search", params={"q": "bitcoin", "asset": "BTC"}).json()
            assert found["stories"] and all("BTC" in s["assets"] for s in found["stories"])
            assert all(s["label"] in ("negative", "neutral", "positive") for s in found["stories"])
    finally:
        if server is not None:
            server.stop()
        search.close()
        store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_command_answers_with_real_scores(
    tmp_path: Path, trained_sentiment: TrainResult
) -> None:
    """The main job as a user starts it (the model given, so the test does not train one)."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CRYPTOSENSE_")},
        "CRYPTOSENSE_DATA_DIR": str(tmp_path / "var"),
        "CRYPTOSENSE_SENTIMENT__MODEL": str(trained_sentiment.path),
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryptosense", "run", "--demo", "on", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        points: list[dict[str, object]] = []
        while time.monotonic() < deadline and not points:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            key_file = tmp_path / "var" / "admin.key"
            if not key_file.exists():  # written before the API starts
                time.sleep(0.5)
                continue
            try:
                resp = httpx.get(
                    f"http://127.0.0.1:{port}/v1/sentiment/BTC",
                    headers={"Authorization": f"Bearer {key_file.read_text().strip()}"},
                    timeout=5,
                )
                points = resp.json()["points"]
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if not points:
                time.sleep(1)
        assert points, "no sentiment points within 180 s"
        assert points[-1]["n_docs"] > 0
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode in (0, -15), out
    assert "offline demo" in out or "demo feeds" in out
    assert f"Created an admin API key: {tmp_path / 'var' / 'admin.key'}" in out
    assert (tmp_path / "var" / "admin.key").stat().st_mode & 0o777 == 0o600
