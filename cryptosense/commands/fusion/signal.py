"""``cryptosense fusion signal``: the current signal of each covered asset, stored."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.settings import Settings
from cryptosense.commands.common import open_store
from cryptosense.commands.fusion.common import add_market
from cryptosense.errors import UserError

TOP_CONTRIBUTIONS = 5


def register(actions: Any) -> None:
    p = actions.add_parser(
        "signal",
        help="the current signal per covered asset (stored, like the service's)",
        description="For each asset with candles of the timeframe (or --asset): P(up) from "
        "its registered model, the action after the risk gate with every reason, the top "
        "feature contributions, the model version and how fresh the data is; stored as the "
        "service stores it (the first signal of a bar stands), and the forward ledger updated.",
    )
    add_market(p, asset_required=False, timeframe_required=False)
    p.add_argument("--json", action="store_true", help="one JSON object per signal")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from core.times import utcnow
    from fusion.live import covered_assets, ledger_summary, make_signal, store_signal, update_ledger

    timeframe = args.timeframe or settings.fusion.live_timeframe
    now = utcnow()
    prices, fusion = settings.prices, settings.fusion
    with open_store(settings) as store:
        assets = [args.asset] if args.asset else covered_assets(store, prices, timeframe)
        if not assets:
            raise UserError(
                f"no asset has {timeframe} candles in the store: import or collect prices first "
                "(cryptosense import prices FILE ... / collect --source prices)"
            )
        for asset in assets:
            sig = make_signal(store, asset, timeframe, now, prices=prices, fusion=fusion)
            new = store_signal(store, sig)
            update_ledger(store, sig.asset, timeframe, now, prices=prices, fusion=fusion)
            ledger = ledger_summary(
                store, sig.asset, timeframe, now, dead_zone_bps=settings.fusion.dead_zone_bps
            )
            if args.json:
                out = sig.record().model_dump(mode="json")
                out["stored"] = new
                out["ledger"] = ledger.__dict__
                print(json.dumps(out, sort_keys=True))
                continue
            _show(sig, new, ledger)
    return 0


def _show(sig: Any, new: bool, ledger: Any) -> None:
    from fusion.figures import num

    prob = "–" if sig.prob_up is None else f"{sig.prob_up:.3f}"
    print(
        f"{sig.asset} {sig.timeframe} at {sig.t.isoformat()}: {sig.action} "
        f"(P(up) {prob} over {sig.horizon}, position {sig.position:+.2f}, "
        f"model {sig.model_version or '–'}, newest candle {sig.data_age_bars:.1f} bars old)"
        + ("" if new else " [this bar's signal was already stored; kept]")
    )
    for reason in sig.reasons:
        print(f"  reason: {reason}")
    top = sorted(
        ((k, v) for k, v in sig.contributions.items() if k != "bias"),
        key=lambda kv: -abs(kv[1]),
    )[:TOP_CONTRIBUTIONS]
    if top:
        print("  top contributions (log-odds): " + ", ".join(f"{k} {v:+.3f}" for k, v in top))
    print(
        f"  forward ledger: {ledger.resolved} resolved, {ledger.pending} pending, "
        f"{ledger.unresolvable} past the horizon without candles, hit rate "
        f"{num(ledger.hit_rate, 'rate')}, net {num(ledger.total_net_return, 'pct')} after costs, "
        f"calibration error {num(ledger.calibration_error)}"
    )
