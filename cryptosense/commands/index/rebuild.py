"""``cryptosense index rebuild``: recompute the as-of sentiment indices from stored scores."""

from __future__ import annotations

import argparse
import time
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import open_store, stored_model_version
from cryptosense.errors import UserError


def register(actions: Any) -> None:
    """Add ``rebuild`` to the ``index`` group."""
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
    rebuild.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.index import rebuild_index

    with open_store(settings) as store:
        known = store.scores.versions()
        version = stored_model_version(store, args.model_version) if known else None
        if version is None:
            raise UserError(
                "no sentiment scores stored yet: run `cryptosense score` (or `cryptosense run`) "
                "first"
            )
        how = "as requested" if args.model_version else "latest with scores"
        print(f"model version {version} ({how}); stored versions: {', '.join(sorted(known))}")
        began = time.perf_counter()
        summary = rebuild_index(store, version, settings.index)
        took = time.perf_counter() - began
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
