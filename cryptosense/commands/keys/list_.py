"""``cryptosense keys list``: every key's id, scopes, name, creation and revocation."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import fmt_time, open_store


def register(actions: Any) -> None:
    """Add ``list`` to the ``keys`` group."""
    actions.add_parser("list", help="list API keys (ids and scopes; never the keys)").set_defaults(
        handler=handle
    )


def handle(args: argparse.Namespace, settings: Settings) -> int:
    del args
    with open_store(settings) as store:
        keys = store.keys.list()
    if not keys:
        print("No API keys yet: `cryptosense keys create --scopes read`.")
        return 0
    header = ["ID", "SCOPES", "CREATED", "REVOKED", "NAME"]
    rows = [header] + [
        [k.id, ",".join(k.scopes), fmt_time(k.created_at), fmt_time(k.revoked_at), k.name]
        for k in keys
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
