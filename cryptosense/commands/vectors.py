"""`cryptosense` subcommands for this stage."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands to the parser."""
    del sub


def _unused(args: argparse.Namespace) -> None:
    del args
