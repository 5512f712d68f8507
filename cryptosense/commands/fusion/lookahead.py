"""``cryptosense fusion lookahead``: the look-ahead guard on the store's data.

Exit code 0 when every feature (and the registered model's signal) rebuilt on data truncated
at random cut points equals the full run's, and every feature's warm-up is what it declares;
1 otherwise, with the offending features named. ``--plant-leak`` adds a feature that reads
the next bar's return, to show the guard catching it.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import positive_int
from cryptosense.commands.common import open_store
from cryptosense.commands.fusion.common import add_market

FAILED = 1


def register(actions: Any) -> None:
    p = actions.add_parser(
        "lookahead",
        help="check that no feature reads the future (exit 0 clean, 1 naming offenders)",
        description="Rebuild the features, and the registered model's signal, on the data "
        "known at random cut points and compare every value at or before each cut with the "
        "full run; then check each feature's warm-up. Exit 0 when clean, 1 naming the "
        "offending features.",
    )
    add_market(p, asset_required=True, timeframe_required=True)
    p.add_argument(
        "--cuts", type=positive_int, help="cut points (default: settings fusion.lookahead_cuts)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the cut points (0)")
    p.add_argument(
        "--plant-leak",
        action="store_true",
        help="add a feature that reads the next bar's return: the check must name it",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from fusion.lookahead import PLANTED_LEAK, check_lookahead, check_warmup
    from fusion.registry import ModelCache
    from fusion.store_provider import StoreProvider

    extra = [PLANTED_LEAK] if args.plant_leak else []
    cuts = args.cuts or settings.fusion.lookahead_cuts
    with open_store(settings) as store:
        provider = StoreProvider.from_settings(store, settings.prices, settings.fusion)
        entry = store.studies.current(args.asset, args.timeframe)
        predict = None
        if entry is not None:
            predict = ModelCache().get(entry).predict_proba
        report = check_lookahead(
            provider,
            args.asset,
            args.timeframe,
            cuts=cuts,
            seed=args.seed,
            extra=extra,
            predict=predict,
        )
        warmup = check_warmup(provider.market_data(args.asset, args.timeframe), extra=extra)
    checked = f"{report.features_checked} values (features" + (
        f" and model {entry.version}'s signal)" if entry is not None else ")"
    )
    print(f"{args.asset} {args.timeframe}: {checked} at {len(report.cuts)} cut points")
    print(report.summary())
    for o in report.offences:
        print(
            f"  {o.feature}: truncated at {o.cut}, the value at {o.at} was {o.truncated} "
            f"but {o.full} with the full history"
        )
    if warmup.ok:
        print(
            "warm-up: every feature agrees after its declared warm-up "
            f"({len(warmup.starts)} later starts)"
        )
    else:
        print(
            "warm-up: features needing more history than they declare: "
            + ", ".join(warmup.violations)
        )
    if warmup.long:
        longest = sorted(warmup.long.items(), key=lambda kv: (-kv[1], kv[0]))
        print("long start-up: " + ", ".join(f"{n} {b} bars" for n, b in longest))
    return 0 if report.ok and warmup.ok else FAILED
