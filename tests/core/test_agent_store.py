"""The agent's aggregates: conversations with numbered turns, briefings one per day."""

from __future__ import annotations

from datetime import date, timedelta

from core.store import Store
from core.store.agent import Briefing
from tests.factories import T0


def test_conversation_turns_are_numbered_and_kept(store: Store) -> None:
    cid = store.conversations.new()
    assert store.conversations.history(cid) == []
    assert store.conversations.append(cid, "user", "How is ETH?", None) == 0
    assert store.conversations.append(cid, "assistant", "Fine.", {"kind": "market_context"}) == 1
    turns = store.conversations.history(cid)
    assert [(t.seq, t.role, t.answer) for t in turns] == [
        (0, "user", None),
        (1, "assistant", {"kind": "market_context"}),
    ]
    # a first turn creates its conversation
    assert store.conversations.append("c-from-api", "user", "and BTC?", None) == 0
    assert store.conversations.exists("c-from-api")


def test_briefings_are_stored_listed_and_replaced_per_day(store: Store) -> None:
    def make(day: date, html: str) -> Briefing:
        return Briefing(day=day, asof=T0, seed=0, markdown="# B", html=html, created_at=T0)

    store.briefings.put(make(date(2024, 3, 1), "<html>1</html>"))
    store.briefings.put(make(date(2024, 3, 2), "<html>2</html>"))
    store.briefings.put(make(date(2024, 3, 1), "<html>1b</html>"))
    listed = store.briefings.list()
    assert [m.day for m in listed] == [date(2024, 3, 2), date(2024, 3, 1)]
    got = store.briefings.get(date(2024, 3, 1))
    assert got is not None and got.html == "<html>1b</html>" and got.asof == T0
    assert listed[1].sha256 == got.sha256
    assert store.briefings.get(date(2024, 3, 1) + timedelta(days=5)) is None
