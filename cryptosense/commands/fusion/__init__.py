"""``cryptosense fusion ...``: the walk-forward study, its report card, the live model, the
current signal and the look-ahead guard, over the store's data (docs/fusion.md).

One module per subcommand, each with ``register(actions)``; :func:`register` makes the
``fusion`` group. Errors in input (an unknown asset, a range with no data, too few bars for
one fold) are one line and exit code 2, through :class:`fusion.data.FusionDataError`.
"""

from __future__ import annotations

from typing import Any

from cryptosense.commands.fusion import backtest, lookahead, report, signal, train

SUBCOMMANDS = (backtest, report, train, signal, lookahead)


def register(sub: Any) -> None:
    """Add ``fusion`` and its subcommands to the parser."""
    parser = sub.add_parser(
        "fusion",
        help="signals from sentiment + price + on-chain: backtest, report, train, signal",
        description="Walk-forward studies with costs and an ablation of each data source, "
        "report cards, the live model and its signals, and the look-ahead guard.",
    )
    actions = parser.add_subparsers(dest="fusion_command", metavar="ACTION", required=True)
    for module in SUBCOMMANDS:
        module.register(actions)
