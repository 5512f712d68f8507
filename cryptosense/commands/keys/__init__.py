"""``cryptosense keys create|list|revoke``: the API's keys and their scopes.

A key is shown once, when it is created (the last line of ``keys create``'s output, alone,
so ``KEY=$(cryptosense keys create --scopes read | tail -1)`` works); the store keeps only
its hash. See docs/api.md, "Keys and scopes".
"""

from __future__ import annotations

from typing import Any

from cryptosense.commands.keys import create, list_, revoke


def register(sub: Any) -> None:
    """Add ``keys`` and its actions to the parser."""
    parser = sub.add_parser("keys", help="API keys: create, list, revoke")
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    for action in (create, list_, revoke):
        action.register(actions)
