"""The ``cryptosense`` console script: one subcommand per stage.

Each subcommand lives in its own module under ``cryptosense/commands/`` (a package per
command group) with ``register(subparsers)``; handlers take ``(args, settings)`` and return
an exit code. Heavy libraries are imported inside the handlers, so ``cryptosense --help`` is
instant. How to add a command: the docstring of :mod:`cryptosense.commands`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core.errors import UserFacingError
from core.settings import ConfigError, Settings, load_settings
from cryptosense import __version__
from cryptosense.commands import (
    agent,
    ask,
    backfill,
    brief,
    collect,
    db,
    embed,
    fusion,
    imports,
    index,
    keys,
    mcp,
    nlp,
    run,
    score,
    search,
    serve,
    sources,
)

log = logging.getLogger(__name__)

#: Every subcommand module (or group package), in the order ``cryptosense --help`` lists them.
COMMANDS = (
    collect,
    sources,
    imports,
    backfill,
    nlp,
    score,
    embed,
    search,
    index,
    serve,
    run,
    keys,
    mcp,
    db,
    fusion,
    ask,
    brief,
    agent,
)


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line, like every other error of the CLI.

    argparse prints the whole usage before its message; with a dozen flags that buries the
    one line that matters (which flag, what is wrong). The usage stays one ``--help`` away.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cryptosense",
        description="Crypto sentiment and market context: collect, score, index, serve.",
    )
    parser.add_argument("--version", action="version", version=f"cryptosense {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (else CRYPTOSENSE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def configure_logging(settings: Settings, *, verbose: bool, quiet: bool) -> None:
    level = "DEBUG" if verbose else "WARNING" if quiet else settings.log_level
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for noisy in (
        "httpx",
        "httpcore",
        "urllib3",
        "filelock",
        "huggingface_hub",
        "prawcore",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory, and the SQLite file's folder, before a command runs.

    Every command keeps something there (the SQLite store, models, vectors), and the
    components create their folders as they go; doing it once here turns a folder that
    cannot be made (the path runs through a regular file, a read-only mount) into one line
    naming it, instead of an ``OSError`` traceback from whichever component writes first.
    Creating folders writes no file, so a dry run still stores nothing.
    """
    paths = settings.paths
    paths.ensure()
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        paths.ensure(Path(url.removeprefix("sqlite:///")).expanduser().parent)


def _reader_gone() -> int:
    """``cryptosense collect --dry-run | head``: the reader closed the pipe, which is how such
    a pipeline ends, not an error worth a traceback. Output is pointed at /dev/null so the
    interpreter's final flush cannot fail again; 141 is what a shell reports for SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        print(f"cryptosense: {err}", file=sys.stderr)
        return 2
    configure_logging(settings, verbose=args.verbose, quiet=args.quiet)
    try:
        prepare_data_dir(settings)
        code = int(args.handler(args, settings) or 0)
        sys.stdout.flush()  # inside the try: a reader that left is met here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except UserFacingError as err:
        print(f"cryptosense: {err}", file=sys.stderr)
        return getattr(err, "exit_code", 2)
    except KeyboardInterrupt:
        print("cryptosense: interrupted", file=sys.stderr)
        return 130
