"""``cryptosense mcp``: the MCP server over stdio, for a local MCP client (an IDE, a desktop
assistant) that starts it as a subprocess.

The same tools as ``/mcp`` under the API, over the configured store, behind the same keys:
the key comes from ``CRYPTOSENSE_API_KEY``, else ``--key-file``, else the local admin key
the first ``cryptosense run`` wrote (``<data dir>/admin.key``), and must carry the ``read``
scope. stdout carries the protocol alone; logs go to stderr.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.settings import Settings
from cryptosense.errors import UserError

ENV_KEY = "CRYPTOSENSE_API_KEY"


def register(sub: Any) -> None:
    """Add ``mcp`` to the parser."""
    mcp = sub.add_parser(
        "mcp",
        help="serve the MCP tools over stdio (for a local MCP client)",
        description="Serve Cryptosense's read-only MCP tools over stdio. The API key comes "
        f"from {ENV_KEY}, --key-file, or the local admin key, and needs the read scope.",
    )
    mcp.add_argument("--key-file", type=Path, help="a file holding the API key")
    mcp.set_defaults(handler=handle)


def _key(args: argparse.Namespace, settings: Settings) -> str:
    from cryptosense.commands.admin_key import admin_key_path

    if os.environ.get(ENV_KEY, "").strip():
        return os.environ[ENV_KEY].strip()
    path = args.key_file or admin_key_path(settings.paths)
    try:
        return path.read_text().strip()
    except OSError as err:
        raise UserError(
            f"no API key: set {ENV_KEY}, pass --key-file, or create one "
            f"(cryptosense keys create --scopes read); {path}: {err.strerror}"
        ) from None


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from agent.service import Agent
    from api.deps import Services
    from api.mcp.server import build_server

    token = _key(args, settings)
    services = Services.from_settings(settings)
    try:
        key = services.store.keys.lookup(token)
        if key is None:
            raise UserError("unknown API key")
        if not key.allows("read"):
            raise UserError(f"API key {key.id} lacks the 'read' scope (it has: {key.scopes})")
        agent = Agent.from_settings(settings, services.store, services.search)
        build_server(lambda: services, settings, lambda: agent).run("stdio")
    finally:
        services.close()
    return 0
