"""The hub path, for real: huggingface_hub and transformers download a classifier from a
hub served on 127.0.0.1 (the project's own trained model, with hub-style LABEL_n names).

The hub library reads its endpoint when imported, so the loading runs in a subprocess with
``HF_ENDPOINT`` pointing at the loopback server and a fresh ``HF_HOME``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nlp.sentiment.train import TrainResult
from tests.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.slow

REPO = "acme/crypto-sentiment"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
ROOT = Path(__file__).resolve().parents[2]


class HubRoutes(dict[Any, Any]):
    """Answers the hub's file and metadata endpoints from one model directory."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files
        self.requested: list[str] = []

    def get(self, key: Any, default: Any = None) -> Reply:
        _method, path = key
        self.requested.append(path)
        resolve = f"/{REPO}/resolve/"
        if path.startswith(resolve):
            _revision, _, name = path[len(resolve) :].partition("/")
            if name in self.files:
                body = self.files[name]
                etag = f'"{hashlib.sha256(body).hexdigest()}"'
                return Reply(200, body, headers={"X-Repo-Commit": COMMIT, "ETag": etag})
            return Reply(404, "", headers={"X-Error-Code": "EntryNotFound"})
        if path.startswith(f"/api/models/{REPO}/tree/"):
            return Reply(200, "[]", headers={"Content-Type": "application/json"})
        if path.startswith(f"/api/models/{REPO}"):
            info = {"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": n} for n in self.files]}
            return Reply(200, json.dumps(info), headers={"Content-Type": "application/json"})
        return Reply(404, "", headers={"X-Error-Code": "RepoNotFound"})


def _hub_files(model_dir: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
    config = json.loads(files["config.json"])
    # hub-style names whose numbers do not follow the outputs: only the map can tell
    config["id2label"] = {"0": "LABEL_2", "1": "LABEL_0", "2": "LABEL_1"}
    config["label2id"] = {"LABEL_2": 0, "LABEL_0": 1, "LABEL_1": 2}
    files["config.json"] = json.dumps(config).encode()
    return files


def _run(code: str, loopback: LoopbackServer, tmp_path: Path) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "CRYPTOSENSE_", "TRANSFORMERS_"))
    }
    env.update(HF_ENDPOINT=loopback.base_url, HF_HOME=str(tmp_path / "hf"))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_factory_loads_a_hub_model_by_id_pinned_to_its_commit_with_a_label_map(
    loopback: LoopbackServer, trained_sentiment: TrainResult, tmp_path: Path
) -> None:
    routes = HubRoutes(_hub_files(trained_sentiment.path))
    loopback.routes = routes
    settings = {
        "data_dir": str(tmp_path / "var"),
        "sentiment": {
            "model": REPO,
            "hub_timeout_s": 120,  # a loaded CI machine is slow to answer even on loopback
            "runtime": "torch",  # this test is about hub loading, not the ONNX runtime
            "threads": 1,
            "max_length": 32,
            "label_map": {"LABEL_2": "negative", "LABEL_0": "neutral", "LABEL_1": "positive"},
        },
    }
    code = f"""
import json
from core.settings import load_settings
from nlp.sentiment.lifecycle import build_sentiment_model
from nlp.sentiment.hf import LocalSentimentModel
settings = load_settings(**json.loads({json.dumps(settings)!r}))
hub = build_sentiment_model(settings.sentiment, settings.paths)
local = LocalSentimentModel.load({str(trained_sentiment.path)!r}, max_length=32, threads=1)
texts = ["Bitcoin smashes to a new all-time high", "Exchange hacked, token crashes 60%"]
print(json.dumps({{
    "kind": type(hub).__name__,
    "version": hub.version,
    "hub": hub.predict_proba(texts).tolist(),
    "local": local.predict_proba(texts).tolist(),
}}))
"""
    out = _run(code, loopback, tmp_path)
    assert out["kind"] == "HubSentimentModel"
    assert out["version"] == f"{REPO}@{COMMIT}"
    # same weights, and the label map puts LABEL_n in the right columns
    assert np.allclose(out["hub"], out["local"], atol=1e-6)
    assert any(p.endswith("/model.safetensors") for p in routes.requested)
    assert not (tmp_path / "var" / "models").exists(), "a reachable hub means no training"
