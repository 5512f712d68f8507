"""``cryptosense db current``: the database, its schema revision and this code's (read-only)."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings


def register(actions: Any) -> None:
    """Add ``current`` to the ``db`` group."""
    current = actions.add_parser(
        "current",
        help="show the database, its schema revision and this code's (changes nothing)",
    )
    current.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import schema_state

    state = schema_state(settings.db, settings.paths)
    if not state.exists:
        revision = "-"
    elif state.legacy:
        revision = "none recorded (tables made before migrations)"
    else:
        revision = state.revision or "none (empty database)"
    print(f"database  {state.url}")
    print(f"revision  {revision}")
    print(f"head      {state.head}")
    print(f"status    {state.status}")
    return 0
