"""``cryptosense db current|upgrade``: the database's schema revision.

Every start (the service, the API, any command that opens the store) migrates the schema
by itself; these commands say where a database stands without touching it, and migrate it
on purpose (before a deploy, or to see what an upgrade does). See docs/store.md.
"""

from __future__ import annotations

from typing import Any

from cryptosense.commands.db import current, upgrade


def register(sub: Any) -> None:
    """Add ``db`` and its actions to the parser."""
    parser = sub.add_parser("db", help="the database schema: where it stands, upgrade it")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for action in (current, upgrade):
        action.register(actions)
