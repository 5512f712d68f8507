"""``cryptosense ask "QUESTION" [--asof ISO] [--json]``: a grounded, cited answer.

Without ``--json`` the narrative streams as the model writes it, then the figures, the
citations and the notes follow; with ``--json`` one JSON object is printed (figures,
narrative, citations, groundedness, tool calls, LLM calls, tokens, seconds). ``--asof``
answers as the agent would have at that moment: every tool sees only what had been ingested
by then. ``--no-llm`` writes the narrative from the figures alone.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from cryptosense.commands.args import iso_time
from cryptosense.commands.common import open_store

if TYPE_CHECKING:
    from agent.answer import Answer
    from core.settings import Settings


def register(sub: Any) -> None:
    """Add ``ask`` to the parser."""
    s = sub.add_parser(
        "ask",
        help="ask the agent a market-context or risk question",
        description="A grounded, cited answer from the stored data; every number in it is "
        "checked against the tools' outputs.",
    )
    s.add_argument("question", help="the question, in plain words")
    s.add_argument("--asof", type=iso_time, help="answer as of this time (ISO, UTC)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--no-llm", action="store_true", help="template narrative, no LLM call")
    s.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from agent.service import Agent

    with open_store(settings) as store:
        agent = Agent.from_settings(settings, store, llm=not args.no_llm)
        if args.json:
            answer = agent.ask(args.question, asof=args.asof)
            print(answer.model_dump_json(indent=2))
            return 0

        def show(token: str) -> None:
            sys.stdout.write(token)
            sys.stdout.flush()

        answer = agent.ask(args.question, asof=args.asof, on_token=show)
        if answer.llm_calls:
            print("\n--- checked answer ---")
        print(render(answer))
    return 0


def render(answer: Answer) -> str:
    lines = [answer.narrative, ""]
    lines += [
        f"  {f.name}: {f.value}{' ' + f.unit if f.unit else ''}  [{f.source_tool}]"
        for f in answer.figures
    ]
    if answer.citations:
        lines.append("Sources:")
        lines += [
            f"  [{i + 1}] {c.title} ({c.source}, {c.published_at:%Y-%m-%d}) {c.url or ''}"
            if c.published_at
            else f"  [{i + 1}] {c.title} ({c.source}) {c.url or ''}"
            for i, c in enumerate(answer.citations)
        ]
    lines += [f"note: {n}" for n in answer.notes]
    lines.append(
        f"kind {answer.kind}, confidence {answer.confidence}, groundedness "
        f"{answer.groundedness:.0%}, {len(answer.tool_calls)} tool calls, {answer.llm_calls} LLM "
        f"calls, {answer.tokens} tokens, {answer.seconds:.1f} s"
    )
    return "\n".join(lines)
