"""``cryptosense sources``: the health of every source polled so far, as a table."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cryptosense.commands.common import fmt_time, open_store

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store.tables import SourceStateRow


def register(sub: Any) -> None:
    """Add ``sources`` to the parser."""
    s = sub.add_parser(
        "sources",
        help="health of each source",
        description="Last success, last error, items today and circuit state of every source "
        "polled so far.",
    )
    s.set_defaults(handler=sources_handler)


def source_row(state: SourceStateRow, now: datetime) -> list[str]:
    """One line of the health table: name, circuit, last success, last error, items today."""
    until = state.circuit_open_until
    circuit = f"open until {fmt_time(until)}" if until is not None and until > now else "closed"
    error = "-"
    if state.last_error_at is not None:
        message = " ".join((state.last_error or "").split())
        error = f"{fmt_time(state.last_error_at)} {message[:70]}".strip()
    today: date = now.date()
    items = state.items_today if state.items_day == today else 0
    return [state.name, circuit, fmt_time(state.last_success_at), error, str(items)]


def sources_handler(args: argparse.Namespace, settings: Settings) -> int:
    del args
    from core.records import utcnow

    with open_store(settings) as store:
        states = store.sources.states()
    if not states:
        print("No source has been polled yet: run `cryptosense collect --source rss` first.")
        return 0
    now = utcnow()
    header = ["SOURCE", "CIRCUIT", "LAST SUCCESS", "LAST ERROR", "ITEMS TODAY"]
    rows = [header] + [source_row(s, now) for s in states]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
