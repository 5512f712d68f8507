"""`cryptosense db current` and `cryptosense db upgrade`: the database's schema revision.

Every start (the service, the API, any command that opens the store) migrates the schema
by itself; these commands say where a database stands without touching it, and migrate it
on purpose (before a deploy, or to see what an upgrade does). See docs/store.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings


def register(sub: Any) -> None:
    """Add ``db`` and its subcommands to the parser."""
    parser = sub.add_parser("db", help="the database schema: where it stands, upgrade it")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    current = actions.add_parser(
        "current",
        help="show the database, its schema revision and this code's (changes nothing)",
    )
    current.set_defaults(handler=current_handler)
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the database to this code's schema revision",
        description="Apply every schema revision the database lacks, each in its own "
        "transaction, under a lock so a starting service cannot migrate at the same time.",
    )
    upgrade.set_defaults(handler=upgrade_handler)


def current_handler(args: argparse.Namespace, settings: Settings) -> int:
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


def upgrade_handler(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import upgrade_schema

    before, after = upgrade_schema(settings.db, settings.paths)
    if before == after:
        print(f"{after.url}: already at revision {after.revision} (head)")
        return 0
    start = "before-migrations" if before.legacy else before.revision or "empty"
    print(f"{after.url}: migrated from {start} to revision {after.revision} (head)")
    return 0
