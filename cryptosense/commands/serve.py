"""``cryptosense serve``: the HTTP API over the stored data (no collection, no scoring).

:func:`bind_address` and :func:`serve_app` are shared with ``cryptosense run``, which serves
the same API beside the pipeline.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import add_bind
from cryptosense.errors import UserError

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``serve`` to the parser."""
    serve = sub.add_parser("serve", help="serve the HTTP API over the stored data")
    add_bind(serve)
    serve.set_defaults(handler=handle)


def bind_address(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """``--host``/``--port``, else the ``api`` settings; a port out of range is refused."""
    host = args.host or settings.api.host
    port = args.port if args.port is not None else settings.api.port
    if not 0 < port < 65536:
        raise UserError(f"--port {port} is not a TCP port")
    return host, port


def serve_app(app: Any, host: str, port: int, settings: Settings) -> None:
    """Run ``app`` under uvicorn until interrupted. The port is tried first, so one that is
    taken or not ours is one line instead of uvicorn's log and exit."""
    import socket

    import uvicorn

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    log.info("API on http://%s:%d (docs: http://%s:%d/docs)", host, port, host, port)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import Services, create_app
    from cryptosense.commands.admin_key import announce_admin_key

    host, port = bind_address(args, settings)
    services = Services.from_settings(settings)  # before uvicorn: a dead database is one line
    try:
        announce_admin_key(services.store, settings.paths)
        serve_app(create_app(settings, services=services), host, port, settings)
    finally:
        services.close()
    return 0
