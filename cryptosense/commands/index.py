"""`cryptosense index rebuild`: recompute the as-of sentiment indices from stored scores."""

from __future__ import annotations

import argparse
import time
from typing import Any

from core.settings import Settings
from cryptosense.errors import UserError


def register(sub: Any) -> None:
    """Add ``index`` and its subcommands to the parser."""
    parser = sub.add_parser("index", help="sentiment indices per asset, source family and hour/day")
    actions = parser.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    rebuild = actions.add_parser(
        "rebuild",
        help="recompute every complete bucket from stored scores, deterministically",
        description="Recompute the whole index history of one model version from stored scores "
        "and replace the stored points in one transaction.",
    )
    rebuild.add_argument(
        "--model-version",
        help="model version whose scores to use (default: the latest one with stored scores)",
    )
    rebuild.set_defaults(handler=rebuild_handler)


def _pick_model_version(requested: str | None, known: list[str], latest: str | None) -> str:
    """The requested version when it has scores, else the latest; a clear error otherwise."""
    if not known or latest is None:
        raise UserError(
            "no sentiment scores stored yet: run `cryptosense score` (or `cryptosense run`) first"
        )
    if requested is None:
        return latest
    if requested not in known:
        raise UserError(
            f"no scores from model version {requested!r}; stored versions: "
            + ", ".join(sorted(known))
        )
    return requested


def rebuild_handler(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import build_store
    from nlp.index import rebuild_index

    store = build_store(settings.db, settings.paths)
    try:
        known = store.scores.versions()
        latest = store.scores.latest_version()
        version = _pick_model_version(args.model_version, known, latest)
        how = "as requested" if args.model_version else "latest with scores"
        print(f"model version {version} ({how}); stored versions: {', '.join(sorted(known))}")
        began = time.perf_counter()
        summary = rebuild_index(store, version, settings.index)
        took = time.perf_counter() - began
    finally:
        store.close()
    if summary.points == 0:
        print("no complete bucket yet: every scored document is in the still-open hour")
        return 0
    per_freq = ", ".join(f"{n} {freq}" for freq, n in sorted(summary.by_freq.items()))
    print(
        f"rebuilt {summary.points} index points ({per_freq}) for {len(summary.assets)} assets: "
        f"{', '.join(summary.assets)}"
    )
    first = summary.first_ts.isoformat() if summary.first_ts else "-"
    last = summary.last_ts.isoformat() if summary.last_ts else "-"
    print(f"buckets from {first} to {last}; took {took:.2f} s")
    return 0
