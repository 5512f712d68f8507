"""``cryptosense fusion train``: fit the live model on everything known now and register it,
promoted only when its walk-forward card passes the promotion gate."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import open_store
from cryptosense.commands.fusion.common import Progress, add_market


def register(actions: Any) -> None:
    p = actions.add_parser(
        "train",
        help="fit the live model on all data up to now and register it (gate decides)",
        description="Run the walk-forward study on everything stored (recorded like "
        "`fusion backtest`), fit the live model on the newest train window with the richest "
        "arm the data covers now, and register it. It signals only when the card's figures "
        "for that arm pass the promotion gate (fusion.gate.*); otherwise the asset's signal "
        "is 'no model' with the reasons.",
    )
    add_market(p, asset_required=True, timeframe_required=False)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from fusion.figures import summary_lines
    from fusion.registry import train_and_register
    from fusion.runs import reports_dir

    timeframe = args.timeframe or settings.fusion.live_timeframe
    progress = Progress(f"{args.asset} {timeframe}")
    with open_store(settings) as store:
        trained = train_and_register(
            store,
            args.asset,
            timeframe,
            prices=settings.prices,
            fusion=settings.fusion,
            reports=reports_dir(settings.paths),
            progress=progress,
        )
    progress.say(f"{progress.what}: done")
    entry, run = trained.entry, trained.recorded.run
    print(f"run {run.id}: " + "\n".join(summary_lines(trained.recorded.card)))
    print(f"card: {run.html_path}")
    first = entry.train_first.isoformat() if entry.train_first else "-"
    last = entry.train_last.isoformat() if entry.train_last else "-"
    print(
        f"model {entry.version} ({trained.arm}, horizon {entry.horizon}, trained on "
        f"{first} .. {last}) registered for {entry.asset} {entry.timeframe}"
    )
    if entry.promoted:
        print("promoted: it makes the live signals of this asset")
    else:
        print("not promoted: the signal is 'no model': " + "; ".join(entry.reasons))
    return 0
