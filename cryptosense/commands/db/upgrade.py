"""``cryptosense db upgrade``: migrate the database to this code's schema revision."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings


def register(actions: Any) -> None:
    """Add ``upgrade`` to the ``db`` group."""
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the database to this code's schema revision",
        description="Apply every schema revision the database lacks, each in its own "
        "transaction, under a lock so a starting service cannot migrate at the same time.",
    )
    upgrade.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import upgrade_schema

    before, after = upgrade_schema(settings.db, settings.paths)
    if before == after:
        print(f"{after.url}: already at revision {after.revision} (head)")
        return 0
    start = "before-migrations" if before.legacy else before.revision or "empty"
    print(f"{after.url}: migrated from {start} to revision {after.revision} (head)")
    return 0
