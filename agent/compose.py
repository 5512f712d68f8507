"""Answer composition: run the planned tools, then write a narrative that states only their
figures, verified number by number before it leaves."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent import grounding, prompt, tools
from agent.answer import Citation, Confidence, Figure, ToolCall
from agent.deps import ToolDeps
from agent.errors import AgentInputError

log = logging.getLogger(__name__)


@dataclass
class Gathered:
    """What the tools returned for one answer."""

    figures: list[Figure] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    snippets: list[dict[str, Any]] = field(default_factory=list)
    freshness: dict[str, datetime | None] = field(default_factory=dict)
    calls: list[ToolCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def gather(
    deps: ToolDeps, plan: list[tuple[str, dict[str, Any]]], asof: datetime, deadline: float
) -> Gathered:
    g = Gathered()
    seen_docs: set[str] = set()
    for name, args in plan:
        if time.monotonic() > deadline:
            g.notes.append(f"time budget reached before {name}")
            break
        t = time.perf_counter()
        try:
            out = tools.call(deps, name, args, asof)
        except AgentInputError as err:
            g.calls.append(
                ToolCall(
                    tool=name, args=args, seconds=time.perf_counter() - t, ok=False, error=str(err)
                )
            )
            continue
        g.calls.append(
            ToolCall(tool=name, args=args, seconds=round(time.perf_counter() - t, 4), ok=True)
        )
        key = name + (f":{args['asset']}" if args.get("asset") else "")
        g.outputs[key] = out
        g.freshness[key] = out.get("fresh")
        if out.get("note"):
            g.notes.append(str(out["note"]))
        for f in out.get("figures", []):
            g.figures.append(Figure(source_tool=name, asof=asof, **f))
        for c in out.get("citations", []):
            if c["id"] not in seen_docs:
                seen_docs.add(c["id"])
                # a scraped title is text too: no links or images ride along in it
                title = " ".join(grounding.clean_links(c["title"], []).split())
                g.citations.append(Citation(**(c | {"title": title})))
        g.snippets += [s for s in out.get("snippets", []) if s["id"] in seen_docs]
        for reason in out.get("reasons", []):
            g.notes.append(f"{args.get('asset', '')} gate: {reason}".strip())
        if out.get("report_card"):
            g.notes.append(f"{args.get('asset', '')} report card: {out['report_card']}".strip())
    return g


def confidence(g: Gathered, asof: datetime) -> Confidence:
    docs = sum(
        int(f.value)
        for f in g.figures
        if f.name.endswith(" documents") and isinstance(f.value, int | float)
    )
    fresh = [t for t in g.freshness.values() if t is not None]
    stale = not fresh or (asof - max(fresh)).total_seconds() > 3 * 86400
    if docs >= 20 and not stale and any(c.ok for c in g.calls):
        return "high"
    if docs >= 5 and not stale:
        return "medium"
    return "low"


@dataclass
class Narrative:
    text: str
    llm_calls: int = 0
    tokens: int = 0
    draft_groundedness: float = 1.0
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_token_s: float | None = None


TokenSink = Callable[[str], None]


def write_narrative(
    model: Any,
    question: str,
    g: Gathered,
    *,
    kind: str,
    future: bool,
    canary: str,
    allowed: list[float],
    days: list[str],
    owners: list[tuple[float, str | None]] | None = None,
    max_calls: int,
    token_budget: int,
    deadline: float,
    on_token: TokenSink | None = None,
    cancel: threading.Event | None = None,
) -> Narrative:
    """LLM narrative checked against the figures; a second call if nothing verified survived;
    the template narrative when the LLM is off, fails, leaks the canary or runs out of budget."""
    out = Narrative(text="")
    if model is None or max_calls <= 0 or not g.figures:
        out.text = prompt.template(g.figures, kind)
        return out
    urls = [c.url for c in g.citations]
    extra = ""
    started = time.monotonic()
    for attempt in range(min(max_calls, 2)):
        if cancel is not None and cancel.is_set():
            out.notes.append("cancelled")
            break
        if time.monotonic() > deadline or out.tokens >= token_budget:
            out.notes.append("LLM budget reached: template narrative")
            break
        msgs = prompt.messages(
            question, g.figures, g.snippets, canary=canary, future=future, extra=extra
        )
        text, used = _stream(model, msgs, on_token, cancel, deadline, started, out)
        out.llm_calls += 1
        out.tokens += used
        if canary in text:
            out.notes.append("the model echoed its system prompt: template narrative")
            break
        text = _whole_sentences(grounding.clean_links(text, urls))
        check = grounding.verify(text, allowed, days, owners)
        if attempt == 0:
            out.draft_groundedness = check.groundedness
        out.removed += check.removed
        if check.text:
            out.text = check.text
            return out
        extra = "Your last answer used numbers not in the facts. Use only the facts' numbers."
    out.text = prompt.template(g.figures, kind)
    return out


def _whole_sentences(text: str) -> str:
    """``text`` up to its last full stop: a sentence cut off by the token cap goes."""
    text = text.strip()
    if not text or text[-1] in ".!?":
        return text
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    return text[: cut + 1] if cut >= 0 else ""


def _stream(
    model: Any,
    msgs: list[tuple[str, str]],
    on_token: TokenSink | None,
    cancel: threading.Event | None,
    deadline: float,
    started: float,
    out: Narrative,
) -> tuple[str, int]:
    text = ""
    usage = 0
    n = 0
    for chunk in model.stream(msgs):
        piece = str(chunk.content)
        meta = getattr(chunk, "usage_metadata", None)
        if meta:
            usage = int(meta.get("total_tokens", 0))
        if piece:
            n += 1
            if out.first_token_s is None:
                out.first_token_s = round(time.monotonic() - started, 3)
            text += piece
            if on_token is not None:
                on_token(piece)
        if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
            out.notes.append("generation stopped: cancelled or out of time")
            cut = max(text.rfind(". "), text.rfind(".\n"), text.rfind("!"), text.rfind("?"))
            text = text[: cut + 1] if cut >= 0 else ""
            break
    if not usage:
        usage = n + sum(len(c) for _, c in msgs) // 4
    return text.strip(), usage
