"""`cryptosense collect` (poll one source once) and `cryptosense sources` (source health).

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
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from collectors.base import Collector, CollectResult, SourceError
from collectors.registry import SOURCES, CollectOptions, UnknownSource
from core.records import Document
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store.tables import SourceStateRow

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``collect`` and ``sources`` to the parser."""
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
    p.add_argument("--pair", help="one trading pair, e.g. BTC/USD")
    p.add_argument("--timeframe", help="one candle timeframe, e.g. 1h")
    p.add_argument(
        "--since", type=_parse_since, help="start of the range to fetch (ISO date or time, UTC)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print records as JSON lines; store nothing"
    )
    p.set_defaults(handler=collect_handler)

    s = sub.add_parser(
        "sources",
        help="health of each source",
        description="Last success, last error, items today and circuit state of every source "
        "polled so far.",
    )
    s.set_defaults(handler=sources_handler)


def _parse_since(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date or time (e.g. 2024-01-31 or 2024-01-31T12:00Z)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- collect ------------------------------------------------------------------------------------


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
    from core.store import build_store

    store = build_store(settings.db, settings.paths)
    failed = 0
    try:
        for collector in collectors:
            outcome = run_once(collector, store, settings.http)
            if outcome.skipped:
                until = circuit_open(store, collector.name)
                when = _fmt_time(until) if until else "now"
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
    finally:
        store.close()
    return 2 if failed else 0


# --- sources ------------------------------------------------------------------------------------


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def source_row(state: SourceStateRow, now: datetime) -> list[str]:
    """One line of the health table: name, circuit, last success, last error, items today."""
    until = state.circuit_open_until
    circuit = f"open until {_fmt_time(until)}" if until is not None and until > now else "closed"
    error = "-"
    if state.last_error_at is not None:
        message = " ".join((state.last_error or "").split())
        error = f"{_fmt_time(state.last_error_at)} {message[:70]}".strip()
    today: date = now.date()
    items = state.items_today if state.items_day == today else 0
    return [state.name, circuit, _fmt_time(state.last_success_at), error, str(items)]


def sources_handler(args: argparse.Namespace, settings: Settings) -> int:
    del args
    from core.records import utcnow
    from core.store import build_store

    store = build_store(settings.db, settings.paths)
    try:
        states = store.sources.states()
    finally:
        store.close()
    if not states:
        print("No source has been polled yet: run `cryptosense collect --source rss` first.")
        return 0
    now = utcnow()
    header = ["SOURCE", "CIRCUIT", "LAST SUCCESS", "LAST ERROR", "ITEMS TODAY"]
    rows = [header] + [source_row(s, now) for s in states]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
