"""Every subcommand's ``--help``, and bad values refused the same way by every command.

The subcommands are found by walking the parser, so a command added later is covered
without touching this file: its flags that take a time or an asset must use the shared
types of :mod:`cryptosense.commands.args`, and a bad value must end in one line and exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cryptosense.cli import build_parser, main
from cryptosense.commands import args as types

Walk = list[tuple[tuple[str, ...], argparse.ArgumentParser]]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Any]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*path, name))


COMMANDS: Walk = [(path, p) for path, p in _walk(build_parser()) if path]
LEAVES: Walk = [
    (path, p)
    for path, p in COMMANDS
    if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
]

#: For each shared type: a value it must refuse, and words its message must hold.
BAD: dict[Callable[[str], Any], tuple[str, str]] = {
    types.iso_time: ("yesterday-ish", "not an ISO 8601 date or time"),
    types.asset_symbol: ("BTC USD!", "is not an asset symbol"),
    types.positive_int: ("0", "must be at least 1"),
    types.existing_file: ("/nonexistent/input.csv", "does not exist or is not a file"),
    types.label_map: ("{not json", "label map is not valid JSON"),
    types.trading_pair: ("bitcoin", "cannot read 'bitcoin' as a pair"),
    types.timeframe: ("60", "is not like 1m"),
}


def _typed_flags() -> list[tuple[tuple[str, ...], str, Callable[[str], Any]]]:
    out = []
    for path, parser in LEAVES:
        for action in parser._actions:
            if action.type in BAD:
                flag = action.option_strings[0] if action.option_strings else action.dest
                out.append((path, flag, action.type))
    return out


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_the_command_names_are_the_documented_ones() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert names >= {
        "collect",
        "sources",
        "import prices",
        "import onchain",
        "backfill",
        "nlp train",
        "nlp eval",
        "nlp bench",
        "score",
        "embed",
        "search",
        "index rebuild",
        "serve",
        "run",
        "db current",
        "db upgrade",
    }


@pytest.mark.parametrize("path", [pytest.param(p, id=" ".join(p)) for p, _ in COMMANDS])
def test_every_subcommand_prints_its_help_and_exits_0(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: cryptosense {' '.join(path)}")


@pytest.mark.parametrize(
    ("path", "flag", "kind"),
    [pytest.param(*t, id=f"{' '.join(t[0])} {t[1]}") for t in _typed_flags()],
)
def test_a_bad_value_for_a_shared_type_is_one_line_naming_the_flag_and_exit_2(
    path: tuple[str, ...],
    flag: str,
    kind: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    value, words = BAD[kind]
    argv = [*path, flag, value] if flag.startswith("-") else [*path, value]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"cryptosense {' '.join(path)}: error: argument ")
    assert words in line


def test_every_time_and_asset_flag_uses_the_shared_types() -> None:
    """A later command cannot bring back its own date parsing: flags named like a time take
    :func:`~cryptosense.commands.args.iso_time`, ``--asset`` takes ``asset_symbol``."""
    times = {"--since", "--until", "--asof", "--start", "--end", "--at"}
    checked = 0
    for path, parser in LEAVES:
        for action in parser._actions:
            names = set(action.option_strings)
            if names & times:
                assert action.type is types.iso_time, (path, names)
                checked += 1
            if "--asset" in names:
                assert action.type is types.asset_symbol, (path, names)
                checked += 1
    assert checked >= 6  # collect --since; search --since/--until/--asof/--asset; import --asset


def test_shared_types_cover_every_command_that_reads_times_or_assets() -> None:
    kinds = {kind for _, _, kind in _typed_flags()}
    assert kinds == set(BAD)


def test_a_missing_required_argument_is_one_line_pointing_at_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "onchain", __file__])
    assert exit_info.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert "required: --asset" in line and "cryptosense import onchain --help" in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [("btc", "BTC"), (" Eth ", "ETH"), ("1INCH", "1INCH")],
)
def test_asset_symbols_are_upper_cased(value: str, expected: str) -> None:
    assert types.asset_symbol(value) == expected


def test_times_without_a_zone_are_utc_and_numbers_are_refused() -> None:
    assert types.iso_time("2024-03-05").isoformat() == "2024-03-05T00:00:00+00:00"
    assert types.iso_time("2024-03-05T12:00:00+02:00").isoformat() == "2024-03-05T10:00:00+00:00"
    with pytest.raises(argparse.ArgumentTypeError, match="is a number, not a time"):
        types.iso_time("1709640000")
