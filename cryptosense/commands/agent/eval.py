"""``cryptosense agent eval``: the question set (:mod:`agent.evaluation`) against the agent
on the evaluation market, in a temporary store; prints the figures (``--json``: one object).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptosense.commands.args import positive_int

if TYPE_CHECKING:
    from core.settings import Settings


def register(sub: Any) -> None:
    s = sub.add_parser(
        "eval",
        help="routing, groundedness, citations, injection resistance and latency",
        description="Ask the fixed question set (context, risk, drivers, comparisons, "
        "follow-ups, as-of questions, unknown assets, tricks) on a small fixed market with "
        "hostile posts planted, and grade every answer.",
    )
    s.add_argument("--no-llm", action="store_true", help="template narratives (no LLM)")
    s.add_argument("--limit", type=positive_int, help="only the first N questions")
    s.add_argument(
        "--group",
        action="append",
        default=[],
        help="only this question group (context, risk, drivers, compare, movers, followup, "
        "asof, unknown, trick); repeatable",
    )
    s.add_argument("--threads", type=positive_int, help="llama-cpp generating threads")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.add_argument("--out", type=Path, help="also write every answer as JSON lines here")
    s.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from agent.evalset import NOW, fill
    from agent.evaluation import plant_hostile_posts, run
    from agent.service import Agent
    from core.store import Store

    agent_settings = settings.agent
    if args.threads:
        agent_settings = agent_settings.model_copy(update={"threads": args.threads})
    with tempfile.TemporaryDirectory(prefix="cryptosense-eval-") as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        try:
            fill(store)
            plant_hostile_posts(store)
            tuned = settings.model_copy(update={"agent": agent_settings})
            agent = Agent.from_settings(tuned, store, llm=not args.no_llm, clock=lambda: NOW)
            report = run(agent, limit=args.limit, groups=tuple(args.group))
        finally:
            store.close()
    figures = report.figures()
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for r in report.results:
                f.write(r.answer.model_dump_json() + "\n")
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    for key, value in figures.items():
        if key != "failures":
            print(f"{key:24} {value}")
    for failure in figures["failures"]:
        print(f"FAIL {failure}")
    return 0
