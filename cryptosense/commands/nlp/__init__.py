"""``cryptosense nlp train|eval|bench``: the sentiment model, trained, measured and timed.

Heavy libraries (torch, transformers) are imported inside the handlers, so ``--help`` stays
instant. Model and data problems become a one-line message and exit code 2.
"""

from __future__ import annotations

from typing import Any

from cryptosense.commands.nlp import bench, evaluate, train


def register(sub: Any) -> None:
    """Add ``nlp`` and its actions to the parser."""
    parser = sub.add_parser("nlp", help="train and evaluate the sentiment model")
    actions = parser.add_subparsers(dest="nlp_command", metavar="ACTION", required=True)
    for action in (train, evaluate, bench):
        action.register(actions)
