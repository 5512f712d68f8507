"""``cryptosense run``: the main job, the API and the pipeline (collect -> score -> index)
in one process; the pipeline runs in a thread and stops with the server."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import add_bind
from cryptosense.commands.serve import bind_address, serve_app

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``run`` to the parser."""
    run = sub.add_parser(
        "run",
        help="the main job: API + collection, scoring and index loop",
        description="Start the API and the pipeline (collect -> score -> index). Without "
        "internet it runs the offline demo: project-written feeds served from 127.0.0.1 "
        "through the real collector and model.",
    )
    add_bind(run)
    run.add_argument(
        "--demo",
        choices=("auto", "on", "off"),
        help="offline demo feeds (default: settings demo.mode, 'auto')",
    )
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import Services, create_app
    from api.deps import vector_search
    from collectors.live.demo import use_demo
    from core.store import build_store
    from cryptosense.commands.admin_key import announce_admin_key
    from cryptosense.publish import EventPublisher
    from cryptosense.service import Pipeline, PipelineStatus, build_sources

    host, port = bind_address(args, settings)
    if args.demo:
        settings = settings.model_copy(
            update={"demo": settings.demo.model_copy(update={"mode": args.demo})}
        )
    store = build_store(settings.db, settings.paths)
    announce_admin_key(store, settings.paths)
    demo = use_demo(settings.demo)
    collectors, demo_server = build_sources(settings, demo=demo)
    if not collectors:
        log.warning("no sources configured: serving stored data only")
    status = PipelineStatus(demo=demo)
    search = vector_search(settings)  # one per process: the pipeline writes, the API reads
    app_state: dict[str, Any] = {}
    publisher = EventPublisher(
        store, settings.index, on_publish=lambda events: wake_streams(app_state.get("app"))
    )
    pipeline = Pipeline(settings, store, collectors, status, search=search, publisher=publisher)
    worker = threading.Thread(target=pipeline.run_forever, name="pipeline", daemon=True)
    services = Services(
        store=store,
        model_version=lambda: status.model_version or store.scores.latest_version(),
        search=search,
        model_upgrade=status.upgrade_report,
    )
    worker.start()
    try:
        app = app_state["app"] = create_app(settings, services=services)
        serve_app(app, host, port, settings)
    finally:
        pipeline.stop_event.set()
        worker.join(timeout=30)
        if demo_server is not None:
            demo_server.stop()
        services.close()
    return 0


def wake_streams(app: Any) -> None:
    """Tell the API's stream broker (and webhooks) that events were published."""
    broker = getattr(getattr(app, "state", None), "broker", None)
    if broker is not None:
        broker.wake()
