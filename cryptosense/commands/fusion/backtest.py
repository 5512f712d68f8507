"""``cryptosense fusion backtest``: the walk-forward study with the ablation, on the store's
data; the report card written under the data directory and the run recorded."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import iso_time
from cryptosense.commands.common import open_store
from cryptosense.commands.fusion.common import Progress, add_market


def register(actions: Any) -> None:
    p = actions.add_parser(
        "backtest",
        help="walk-forward study with costs and the ablation; writes and records the card",
        description="Walk-forward validation (purged, embargoed, retrained every "
        "fusion.test_days) of buy-and-hold, price only, price + on-chain and price + on-chain "
        "+ sentiment on the same folds, after fees and slippage, with block-bootstrap "
        "intervals, regimes, PBO and the deflated Sharpe ratio. Writes the report card (JSON "
        "and HTML) under <data dir>/fusion/reports and records the run in the store.",
    )
    add_market(p, asset_required=True, timeframe_required=True)
    p.add_argument(
        "--from", dest="start", type=iso_time, help="first test window starts here (ISO time)"
    )
    p.add_argument("--to", dest="end", type=iso_time, help="use data up to here (ISO time)")
    p.add_argument("--json", action="store_true", help="print the card JSON instead of a summary")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from fusion.figures import summary_lines
    from fusion.runs import reports_dir, run_recorded_study

    progress = Progress(f"{args.asset} {args.timeframe}", quiet=args.json)
    with open_store(settings) as store:
        recorded = run_recorded_study(
            store,
            args.asset,
            args.timeframe,
            prices=settings.prices,
            fusion=settings.fusion,
            reports=reports_dir(settings.paths),
            start=args.start,
            end=args.end,
            progress=progress,
        )
    progress.say(f"{progress.what}: done")
    run = recorded.run
    if args.json:
        print(run.card_json, end="")
        return 0
    print(f"run {run.id}: " + "\n".join(summary_lines(recorded.card)))
    if recorded.same_as is not None:
        print(f"card identical to run {recorded.same_as.id} (same data, settings, code, seed)")
    print(f"card: {run.json_path}")
    print(f"      {run.html_path}")
    print(f"data sha256 {run.content_sha256}; card sha256 {run.card_sha256}")
    return 0
