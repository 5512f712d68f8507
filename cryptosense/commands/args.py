"""Argument types and argument groups shared by the subcommands.

A flag that names a time, an asset, a count, a file, a label map, a trading pair or a
timeframe takes its ``type=`` from here, so every command reads such a value by one rule
(the same rule as the API and the settings) and refuses a bad one the same way: argparse's
one line naming the flag, exit code 2, before any store or model is opened.

The types import nothing heavy at module level: ``cryptosense --help`` imports this module.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path


def iso_time(value: str) -> datetime:
    """An ISO 8601 date or time through the project's one UTC parser
    (:func:`core.times.parse_utc`: no zone means UTC; bare numbers and out-of-range times are
    refused, with its message)."""
    from core.times import TimeParseError, parse_utc

    try:
        return parse_utc(value)
    except TimeParseError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def asset_symbol(value: str) -> str:
    """An asset symbol, upper-cased (``btc`` names ``BTC``): 1-12 letters or digits.

    Whether any stored document mentions it is the handler's question
    (:func:`core.assets.require_known_asset`): that needs the store.
    """
    from core.assets import asset_symbol as normalise

    try:
        return normalise(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def positive_int(value: str) -> int:
    """A whole number of at least 1 (a limit, a batch size, a count of epochs)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return number


def existing_file(value: str) -> Path:
    """A path to a file that exists now (an archive, a CSV to import, labelled data)."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value} does not exist or is not a file")
    return path


def existing_dir(value: str) -> Path:
    """A path to a folder that exists now."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} does not exist or is not a folder")
    return path


def source_weight(value: str) -> tuple[str, float]:
    """``FILE=WEIGHT``: the training weight of one labelled source, above 0."""
    name, sep, raw = value.partition("=")
    try:
        weight = float(raw)
    except ValueError:
        weight = float("nan")
    if not sep or not name.strip() or not weight > 0:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected FILE=WEIGHT with a weight above 0, e.g. "
            "stocktwits_eth_2022.csv=0.5"
        )
    return name.strip(), weight


def label_map(value: str) -> Mapping[str, str]:
    """JSON text, or a ``.json`` file holding it, from a file's labels to
    negative/neutral/positive, e.g. ``{"0": "negative", "1": "positive", "2": "neutral"}``;
    read by :func:`nlp.sentiment.data.parse_label_map`, which also checks the targets."""
    from nlp.sentiment.data import DataError, parse_label_map

    try:
        return parse_label_map(value)
    except DataError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def trading_pair(value: str) -> str:
    """A trading pair as written (``BTC/USD``, ``btc-usd``, ``BTCUSD``), checked to be
    readable as base and quote by the rule the collectors and importers use."""
    from collectors.market import PairError, split_pair

    try:
        split_pair(value)
    except PairError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def timeframe(value: str) -> str:
    """A candle timeframe in ccxt's spelling (``15m``, ``1h``, ``1d``, ``1w``), as written."""
    from collectors.market import TimeframeError, timeframe_seconds

    try:
        timeframe_seconds(value)
    except TimeframeError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


# --- argument groups used by more than one command ------------------------------------------


def add_labelled_data(parser: argparse.ArgumentParser) -> None:
    """``--data`` (with ``--text-col``, ``--label-col``, ``--label-map``) or ``--crypto``: a
    labelled CSV or JSONL file, or a folder of the labelled sources the project knows, for
    training or evaluating the sentiment model."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=existing_file, help="labelled CSV or JSONL file")
    where.add_argument(
        "--crypto",
        type=existing_dir,
        metavar="DIR",
        help="folder with the labelled sources (e.g. ../shared/data/sentiment): finance "
        "tweets, crypto headlines and self-tagged crypto posts, each read with its own label "
        "set, weight and held-out part (docs/sentiment.md)",
    )
    parser.add_argument("--text-col", default="text", help="text column (default: text)")
    parser.add_argument("--label-col", default="label", help="label column (default: label)")
    parser.add_argument(
        "--label-map",
        type=label_map,
        help="JSON (or a .json file) from the file's labels to negative/neutral/positive, e.g. "
        '\'{"0":"negative","1":"positive","2":"neutral"}\' for Twitter Financial News',
    )


def add_bind(parser: argparse.ArgumentParser) -> None:
    """``--host`` and ``--port`` of a command that serves the API."""
    parser.add_argument("--host", help="bind address (default: settings api.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: settings api.port, 8000)")


def add_runtime(parser: argparse.ArgumentParser) -> None:
    """``--runtime``: which encoder runtime a vector command uses this once."""
    parser.add_argument(
        "--runtime", choices=("onnx-int8", "torch"), help="override embeddings.runtime"
    )
