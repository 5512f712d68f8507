"""``cryptosense index ...``: the as-of sentiment indices per asset, source family and bucket."""

from __future__ import annotations

from typing import Any

from cryptosense.commands.index import rebuild


def register(sub: Any) -> None:
    """Add ``index`` and its actions to the parser."""
    parser = sub.add_parser("index", help="sentiment indices per asset, source family and hour/day")
    actions = parser.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    rebuild.register(actions)
