"""``cryptosense fusion report``: a recorded run's report card, as stored (never recomputed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from cryptosense.commands.args import positive_int
from cryptosense.commands.common import open_store
from cryptosense.commands.fusion.common import add_market
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.records import StudyRun
    from core.store import Store


def register(actions: Any) -> None:
    p = actions.add_parser(
        "report",
        help="show a recorded run's report card: the HTML page's path, or the JSON",
        description="Show the report card of a recorded run (default: the newest run, or the "
        "newest of --asset/--timeframe). The HTML page is written again from the stored card "
        "if its file is gone. --table prints the newest card of each asset and timeframe as "
        "one Markdown table (what the README's figures come from).",
    )
    p.add_argument("--run", type=positive_int, help="run id (as `fusion backtest` printed it)")
    add_market(p, asset_required=False, timeframe_required=False)
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the card JSON to stdout")
    shown.add_argument(
        "--table", action="store_true", help="Markdown table of the newest card of each market"
    )
    p.set_defaults(handler=handle)


def _pick(store: Store, args: argparse.Namespace) -> StudyRun:
    if args.run is not None:
        if args.asset or args.timeframe:
            raise UserError("give --run or --asset/--timeframe, not both")
        run = store.studies.run(args.run)
        if run is None:
            raise UserError(f"no fusion run {args.run}; `cryptosense fusion report --table` lists")
        return run
    runs = store.studies.runs(args.asset, args.timeframe, limit=1)
    if not runs:
        which = " ".join(x for x in (args.asset, args.timeframe) if x) or "any market"
        raise UserError(
            f"no fusion runs recorded for {which}: run `cryptosense fusion backtest --asset "
            "BTC --timeframe 1d` first"
        )
    return runs[0]


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from fusion.figures import markdown_table
    from fusion.report import card_html

    with open_store(settings) as store:
        if args.table:
            runs = (
                [_pick(store, args)]
                if args.run is not None
                else [
                    r
                    for r in store.studies.latest_runs()
                    if args.asset in (None, r.asset) and args.timeframe in (None, r.timeframe)
                ]
            )
            if not runs:
                raise UserError("no fusion runs recorded yet: run `cryptosense fusion backtest`")
            print(markdown_table([json.loads(r.card_json) for r in runs]))
            print("\n" + ", ".join(f"run {r.id}: {r.asset} {r.timeframe}" for r in runs))
            return 0
        run = _pick(store, args)
    if args.json:
        print(run.card_json, end="")
        return 0
    html = Path(run.html_path) if run.html_path else None
    if html is None or not html.is_file():
        from fusion.runs import reports_dir

        html = (
            reports_dir(settings.paths) / f"{run.asset}-{run.timeframe}-{run.card_sha256[:12]}.html"
        )
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(card_html(json.loads(run.card_json)), encoding="utf-8")
    print(f"run {run.id}: {run.asset} {run.timeframe}, {run.verdict}")
    print(html)
    return 0
