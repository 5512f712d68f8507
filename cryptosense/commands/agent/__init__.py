"""``cryptosense agent ...``: the agent's own commands (its evaluation)."""

from __future__ import annotations

from typing import Any

from cryptosense.commands.agent import eval as eval_command


def register(sub: Any) -> None:
    """Add ``agent`` and its actions to the parser."""
    parser = sub.add_parser("agent", help="the question-answering agent: evaluation")
    actions = parser.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    eval_command.register(actions)
