"""The agent's facade: questions and structured queries in, grounded answers out.

``ask`` routes a free-text question deterministically (:mod:`agent.router`), runs the
planned read-only tools as of the requested time, writes a narrative with at most
``agent.max_llm_calls`` LLM calls and verifies every number in it (:mod:`agent.compose`).
``astream`` yields tokens as the model writes them and the answer last; it stops the work
when the consumer stops iterating.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent import compose, queries, tools
from agent.answer import Answer
from agent.assets import Resolution
from agent.deps import ToolDeps
from agent.errors import AgentInputError
from agent.events import AgentEvent, AnswerEvent, ErrorEvent, TokenEvent
from agent.prompt import new_canary
from agent.router import Route, route
from core.errors import UserFacingError
from core.times import ensure_utc, utcnow

if TYPE_CHECKING:
    from core.settings import AgentSettings, Settings
    from core.store import Store
    from nlp.vectors.service import VectorSearch

log = logging.getLogger(__name__)


class Agent:
    QUERY_KINDS: dict[str, type[BaseModel]] = queries.QUERY_KINDS

    def __init__(
        self,
        deps: ToolDeps,
        settings: AgentSettings,
        *,
        chat_model: Any | None = None,
        llm: bool = True,
        clock: Callable[[], datetime] = utcnow,
        conversations: Any | None = None,
    ) -> None:
        self.deps = deps
        self.settings = settings
        self.clock = clock
        self.canary = new_canary()
        self._model = chat_model
        self._llm = llm
        self._routes: dict[str, list[Route]] = {}
        self.conversations = conversations

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, vectors: VectorSearch | None = None, **kw: Any
    ) -> Agent:
        """An agent over ``store``; the LLM loads on the first narrative, not here."""
        deps = ToolDeps(store, settings.prices, settings.index, settings.fusion, vectors)
        kw.setdefault("conversations", store.conversations)
        return cls(deps, settings.agent, **kw)

    # --- tools --------------------------------------------------------------------------

    def tools(self) -> list[tools.ToolSpec]:
        return tools.specs()

    def call_tool(
        self, name: str, args: dict[str, Any], *, asof: datetime | None = None
    ) -> dict[str, Any]:
        return tools.call(self.deps, name, args, ensure_utc(asof or self.clock()))

    # --- answers ------------------------------------------------------------------------

    def model(self) -> Any:
        if self._model is None and self._llm:
            from agent.llm import build_chat_model

            self._model = build_chat_model(self.settings)
        return self._model

    def query(self, kind: str, params: dict[str, Any], *, asof: datetime | None = None) -> Answer:
        q = queries.parse(kind, params)
        covered = set(self.deps.covered())
        missing = [a for a in queries.query_assets(q) if a not in covered]
        if missing:
            raise AgentInputError(f"{kind}: not covered: {', '.join(missing)}")
        question = f"{kind} {q.model_dump_json()}"
        return self._answer(question, kind, q, asof=asof, future=False, notes=[])

    def ask(
        self,
        question: str,
        *,
        asof: datetime | None = None,
        conversation_id: str | None = None,
        on_token: compose.TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        question = question.strip()
        if not question:
            raise AgentInputError("the question is empty")
        if len(question) > 1000:
            raise AgentInputError("the question is longer than 1000 characters")
        history = self._history(conversation_id)
        r = route(question, self.deps.covered(), history[-1] if history else None)
        notes = list(r.resolution.explanations)
        if r.followup:
            notes.append("follow-up: resolved against the previous turn")
        if r.kind == "not_covered":
            answer = self._not_covered(question, r, asof)
        else:
            q = queries.parse(r.kind, dict(r.params))
            answer = self._answer(
                question,
                r.kind,
                q,
                asof=asof,
                future=r.future,
                notes=notes,
                on_token=on_token,
                cancel=cancel,
            )
        if conversation_id is None:
            conversation_id = uuid.uuid4().hex
        self._remember(conversation_id, question, r, answer)
        return answer.model_copy(update={"conversation_id": conversation_id})

    async def astream(
        self, question: str, *, asof: datetime | None = None, conversation_id: str | None = None
    ) -> AsyncIterator[AgentEvent]:
        """Tokens as the model writes them, then the answer (or an error). Leaving the loop
        early cancels the generation."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[AgentEvent | None] = asyncio.Queue()
        cancel = threading.Event()

        def push(event: AgentEvent | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def work() -> None:
            try:
                ans = self.ask(
                    question,
                    asof=asof,
                    conversation_id=conversation_id,
                    on_token=lambda t: push(TokenEvent(text=t)),
                    cancel=cancel,
                )
                push(AnswerEvent(answer=ans))
            except UserFacingError as err:
                push(ErrorEvent(message=str(err)))
            except Exception as err:
                log.exception("agent failed")
                push(ErrorEvent(message=f"internal error: {type(err).__name__}"))
            finally:
                push(None)

        loop.run_in_executor(None, work)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            cancel.set()  # the generation loop checks it on every token and stops

    # --- internals ----------------------------------------------------------------------

    def _history(self, conversation_id: str | None) -> list[Route]:
        """The conversation's routed turns: this process's, else rebuilt from the stored
        answers (a follow-up through the API may reach another process)."""
        if conversation_id is None:
            return []
        if conversation_id in self._routes:
            return self._routes[conversation_id]
        if self.conversations is None:
            return []
        routes = []
        for turn in self.conversations.history(conversation_id):
            a = turn.answer
            if turn.role == "assistant" and a and a.get("kind") != "not_covered":
                windows = [c["args"].get("window_hours") for c in a.get("tool_calls", [])]
                window = next((w for w in windows if isinstance(w, int)), 168)
                res = Resolution(assets=list(a.get("assets", [])))
                routes.append(Route(a["kind"], {"window_hours": window}, res))
        return routes

    def _remember(self, conversation_id: str, question: str, r: Route, answer: Answer) -> None:
        self._routes.setdefault(conversation_id, []).append(r)
        if self.conversations is not None:
            self.conversations.append(conversation_id, "user", question, None)
            self.conversations.append(
                conversation_id, "assistant", answer.narrative, answer.model_dump(mode="json")
            )

    def _not_covered(self, question: str, r: Route, asof: datetime | None) -> Answer:
        assets = r.resolution.not_covered
        text = (
            f"Not covered: {', '.join(assets)}. This service answers only about assets its "
            f"stored documents mention ({', '.join(self.deps.covered()) or 'none yet'})."
        )
        return Answer(
            question=question,
            kind="not_covered",
            assets=assets,
            asof=ensure_utc(asof or self.clock()),
            narrative=text,
            confidence="high",
            notes=list(r.resolution.explanations),
        )

    def _answer(
        self,
        question: str,
        kind: str,
        q: BaseModel,
        *,
        asof: datetime | None,
        future: bool,
        notes: list[str],
        on_token: compose.TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        t0 = time.monotonic()
        deadline = t0 + self.settings.time_budget_s
        when = ensure_utc(asof or self.clock())
        assets = queries.query_assets(q)
        plan = queries.plan(q, topic=question if kind == "sentiment_drivers" else "")
        if future:
            plan += [
                ("fusion_signal", {"asset": a})
                for a in assets
                if ("fusion_signal", {"asset": a}) not in plan
            ]
        g = compose.gather(self.deps, plan, when, deadline)
        if future:  # the signal's measured record first: what a forecast question gets
            g.figures.sort(key=lambda f: f.source_tool != "fusion_signal")
        notes = notes + g.notes
        if when.date() < self.settings.training_cutoff:
            notes.append(
                f"as of {when.date()}, before the LLM's training cut-off "
                f"({self.settings.training_cutoff}): the model may have read what happened "
                "next; only the tool figures carry weight"
            )
        if future:
            notes.append(
                "a question about the future: no prediction is made; the fusion "
                "signal's measured ledger record is given instead"
            )
        window = [v for k, v in q.model_dump().items() if k.endswith("hours")]
        extra = [*window, *(w / 24 for w in window), 0, 1, 100]
        allowed = compose.grounding.allowed_numbers(g.figures, extra)
        owners = compose.grounding.owners_of(g.figures, extra)
        days = [when.date().isoformat()] + [
            c.published_at.date().isoformat() for c in g.citations if c.published_at
        ]
        model = None
        if self._llm or self._model is not None:
            try:
                model = self.model()
            except UserFacingError as err:
                notes.append(f"LLM unavailable ({err}): template narrative")
        try:
            n = compose.write_narrative(
                model,
                question,
                g,
                kind=kind,
                future=future,
                canary=self.canary,
                allowed=allowed,
                owners=owners,
                days=days,
                max_calls=self.settings.max_llm_calls,
                token_budget=self.settings.token_budget,
                deadline=deadline,
                on_token=on_token,
                cancel=cancel,
            )
        except UserFacingError as err:
            notes.append(f"LLM unavailable ({err}): template narrative")
            n = compose.write_narrative(
                None,
                question,
                g,
                kind=kind,
                future=future,
                canary=self.canary,
                allowed=allowed,
                owners=owners,
                days=days,
                max_calls=0,
                token_budget=0,
                deadline=deadline,
            )
        if n.removed:
            notes.append(
                f"removed {len(n.removed)} sentence(s) with unverified numbers "
                f"(draft groundedness {n.draft_groundedness:.2f})"
            )
        if n.first_token_s is not None:
            notes.append(f"time to first token {n.first_token_s:.2f} s")
        check = compose.grounding.verify(n.text, allowed, days, owners)
        return Answer(
            question=question,
            kind=kind,
            assets=assets,
            asof=when,
            figures=g.figures,
            narrative=check.text,
            citations=g.citations,
            freshness=g.freshness,
            confidence=compose.confidence(g, when),
            groundedness=check.groundedness,
            draft_groundedness=n.draft_groundedness if n.llm_calls else None,
            first_token_s=n.first_token_s,
            notes=notes + n.notes,
            tool_calls=g.calls,
            llm_calls=n.llm_calls,
            tokens=n.tokens,
            seconds=round(time.monotonic() - t0, 3),
        )
