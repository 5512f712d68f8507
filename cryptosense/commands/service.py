"""``cryptosense serve`` (the API over stored data) and ``cryptosense run`` (API + pipeline)."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from core.settings import Settings
from cryptosense.errors import UserError

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP API over the stored data")
    _add_bind(serve)
    serve.set_defaults(handler=_serve)

    run = sub.add_parser(
        "run",
        help="the main job: API + collection, scoring and index loop",
        description="Start the API and the pipeline (collect -> score -> index). Without "
        "internet it runs the offline demo: project-written feeds served from 127.0.0.1 "
        "through the real collector and model.",
    )
    _add_bind(run)
    run.add_argument(
        "--demo",
        choices=("auto", "on", "off"),
        help="offline demo feeds (default: settings demo.mode, 'auto')",
    )
    run.set_defaults(handler=_run)


def _add_bind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="bind address (default: settings api.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: settings api.port, 8000)")


def _bind(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    host = args.host or settings.api.host
    port = args.port if args.port is not None else settings.api.port
    if not 0 < port < 65536:
        raise UserError(f"--port {port} is not a TCP port")
    return host, port


def _uvicorn(app: Any, host: str, port: int, settings: Settings) -> None:
    import socket

    import uvicorn

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    log.info("API on http://%s:%d (docs: http://%s:%d/docs)", host, port, host, port)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import create_app

    host, port = _bind(args, settings)
    _uvicorn(create_app(settings), host, port, settings)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import Services, create_app
    from api.deps import vector_search
    from collectors.demo import use_demo
    from core.store import Store
    from cryptosense.service import Pipeline, PipelineStatus, build_sources

    host, port = _bind(args, settings)
    if args.demo:
        settings = settings.model_copy(
            update={"demo": settings.demo.model_copy(update={"mode": args.demo})}
        )
    store = Store.from_settings(settings)
    demo = use_demo(settings.demo)
    collectors, demo_server = build_sources(settings, demo=demo)
    if not collectors:
        log.warning("no sources configured: serving stored data only")
    status = PipelineStatus(demo=demo)
    search = vector_search(settings)  # one per process: the pipeline writes, the API reads
    pipeline = Pipeline(settings, store, collectors, status, search=search)
    worker = threading.Thread(target=pipeline.run_forever, name="pipeline", daemon=True)
    services = Services(
        store=store,
        model_version=lambda: status.model_version or store.latest_model_version(),
        search=search,
        model_upgrade=status.upgrade_report,
    )
    worker.start()
    try:
        _uvicorn(create_app(settings, services=services), host, port, settings)
    finally:
        pipeline.stop_event.set()
        worker.join(timeout=30)
        if demo_server is not None:
            demo_server.stop()
        services.close()
    return 0
