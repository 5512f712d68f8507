"""``cryptosense keys create --scopes read,chat``: a new API key, printed alone on the last line."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import open_store
from cryptosense.errors import UserError


def register(actions: Any) -> None:
    """Add ``create`` to the ``keys`` group."""
    create = actions.add_parser(
        "create",
        help="create an API key (printed once, alone on the last line)",
        description="Scopes: read (sentiment, signals, documents, search, sources), subscribe "
        "(streams, webhooks), chat (chat and queries), admin (everything).",
    )
    create.add_argument(
        "--scopes", required=True, help="comma-separated: read,subscribe,chat,admin"
    )
    create.add_argument("--name", default="", help="a note saying who or what the key is for")
    create.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from core.store.keys import ApiKeyError, parse_scopes

    try:
        scopes = parse_scopes(args.scopes)
    except ApiKeyError as err:
        raise UserError(f"--scopes: {err}") from None
    with open_store(settings) as store:
        record, key = store.keys.create(scopes, name=args.name[:200])
    print(f"created key {record.id} with scopes {','.join(record.scopes)}; it is shown once:")
    print(key)
    return 0
