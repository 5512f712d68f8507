"""``cryptosense keys revoke ID``: the key stops working (within seconds on a running API)."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import open_store
from cryptosense.errors import UserError


def register(actions: Any) -> None:
    """Add ``revoke`` to the ``keys`` group."""
    revoke = actions.add_parser("revoke", help="revoke an API key by its id (see keys list)")
    revoke.add_argument("key_id", help="the key's id, as keys list shows it")
    revoke.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from core.store.keys import ApiKeyError

    with open_store(settings) as store:
        try:
            key = store.keys.revoke(args.key_id)
        except ApiKeyError as err:
            raise UserError(str(err)) from None
    print(f"revoked key {key.id} ({','.join(key.scopes)})")
    return 0
