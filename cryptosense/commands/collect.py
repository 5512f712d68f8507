"""``cryptosense collect``: poll one source once, into the store or printed (``--dry-run``).

``collect --dry-run`` prints what a poll would store, one JSON object per line, and touches
no database: documents as ``{id, source, url, title, published_at, ingested_at, assets,
lang, warnings}`` (collectors list feed-level problems, such as ``malformed-xml``, in the
warnings of every document they affect), candles and on-chain metrics as their full records.
Warnings are also logged to stderr. Without ``--dry-run`` each collector runs once through
:func:`collectors.runner.run_once` (cursor, circuit breaker, idempotent writes) and a summary
line per source is printed. A source that fails, or an unknown source, ends with a message
on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from collectors.base import Collector, CollectResult, SourceError
from collectors.registry import SOURCES, CollectOptions, UnknownSource
from core.records import Document
from cryptosense.commands.args import iso_time, timeframe, trading_pair
from cryptosense.commands.common import fmt_time, open_store
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``collect`` to the parser."""
    p = sub.add_parser(
        "collect",
        help="poll one source once (store, or print with --dry-run)",
        description="Poll one source once. With --dry-run, print the records it would store "
        "as JSON lines and store nothing.",
    )
    p.add_argument(
        "--source", required=True, metavar="NAME", help=f"one of: {', '.join(sorted(SOURCES))}"
    )
    p.add_argument("--url", help="one feed or endpoint URL instead of the configured ones")
    p.add_argument("--name", help="name for the --url source (default: its host)")
    p.add_argument("--subreddit", help="one subreddit instead of the configured ones")
    p.add_argument("--pair", type=trading_pair, help="one trading pair, e.g. BTC/USD")
    p.add_argument("--timeframe", type=timeframe, help="one candle timeframe, e.g. 1h")
    p.add_argument(
        "--since", type=iso_time, help="start of the range to fetch (ISO date or time, UTC)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print records as JSON lines; store nothing"
    )
    p.set_defaults(handler=collect_handler)


def build_for_args(args: argparse.Namespace, settings: Settings) -> list[Collector]:
    """The collectors ``--source`` names, with the command-line overrides; user mistakes
    (unknown source, bad option, nothing configured) become :class:`UserError`."""
    from collectors import registry

    options = CollectOptions(
        url=args.url,
        name=args.name,
        subreddit=args.subreddit,
        pair=args.pair,
        timeframe=args.timeframe,
        since=args.since,
    )
    try:
        collectors = registry.build_collectors(args.source, settings, options)
    except UnknownSource as err:
        raise UserError(str(err)) from None
    except ModuleNotFoundError as err:
        raise UserError(f"source {args.source!r} is not available here: {err}") from None
    except SourceError as err:
        raise UserError(f"source {args.source!r}: {err}") from None
    except ValueError as err:
        raise UserError(f"source {args.source!r}: {err}") from None
    if not collectors:
        raise UserError(
            f"source {args.source!r} has nothing to collect with the current settings "
            "(see the log above)"
        )
    return collectors


def collect_handler(args: argparse.Namespace, settings: Settings) -> int:
    collectors = build_for_args(args, settings)
    if args.dry_run:
        return _dry_run(collectors)
    return _collect_into_store(collectors, settings)


def document_json(doc: Document) -> dict[str, Any]:
    """The dry-run view of a document: what identifies it and what went wrong reading it."""
    return {
        "id": doc.id,
        "source": doc.source,
        "url": doc.url,
        "title": doc.title,
        "published_at": doc.published_at.isoformat(),
        "ingested_at": doc.ingested_at.isoformat(),
        "assets": list(doc.assets),
        "lang": doc.lang,
        "warnings": list(doc.warnings),
    }


def _print_result(result: CollectResult) -> None:
    for w in result.warnings:
        log.warning("%s: %s: %s", w.source, w.reason, w.detail)
    for doc in result.documents:
        print(json.dumps(document_json(doc), ensure_ascii=False))
    for record in (*result.candles, *result.metrics):
        print(json.dumps(record.model_dump(mode="json"), ensure_ascii=False))


def _dry_run(collectors: Sequence[Collector]) -> int:
    failed = 0
    for collector in collectors:
        try:
            result = collector.collect({})
        except SourceError as err:
            failed += 1
            print(f"cryptosense: {collector.name} failed: {_describe(err)}", file=sys.stderr)
            continue
        _print_result(result)
    sys.stdout.flush()
    return 2 if failed else 0


def _describe(err: SourceError) -> str:
    return f"{err.reason} ({err.detail})" if err.detail else err.reason


def _collect_into_store(collectors: Sequence[Collector], settings: Settings) -> int:
    from collectors.runner import circuit_open, run_once

    failed = 0
    with open_store(settings) as store:
        for collector in collectors:
            outcome = run_once(collector, store, settings.http)
            if outcome.skipped:
                until = circuit_open(store, collector.name)
                when = fmt_time(until) if until else "now"
                print(f"{outcome.source}: skipped, circuit open until {when}")
            elif not outcome.ok:
                failed += 1
                print(f"cryptosense: {outcome.source} failed: {outcome.error}", file=sys.stderr)
            else:
                ing = outcome.ingest
                print(
                    f"{outcome.source}: {ing.new} new, {ing.duplicates} duplicate, "
                    f"{ing.merged} merged documents; {outcome.candles} candles; "
                    f"{outcome.metrics} metrics; {outcome.warnings} warnings"
                )
    return 2 if failed else 0
