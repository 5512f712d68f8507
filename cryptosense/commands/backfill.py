"""``cryptosense backfill FILE``: import a news archive or a Reddit dump with its original
timestamps (see docs/news.md). Resumable: run it again after an interruption."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import existing_file, positive_int
from cryptosense.commands.common import open_store
from cryptosense.errors import UserError


def register(sub: Any) -> None:
    """Add the ``backfill`` subcommand."""
    p = sub.add_parser(
        "backfill",
        help="import a JSONL/CSV news archive or a Reddit dump (.zst ok) with original times",
        description="Import an archive into the store. Each item keeps its original time "
        "(published_at, and ingested_at = published_at: the archive is the claim of when the "
        "market could see it). Progress is saved after every committed batch, so re-running "
        "the same command resumes where it stopped; re-imports store nothing twice.",
    )
    p.add_argument(
        "file", type=existing_file, help="the archive (.jsonl, .csv, .ndjson; .zst compressed ok)"
    )
    p.add_argument(
        "--format",
        required=True,
        choices=("news-jsonl", "news-csv", "reddit"),
        help="news-jsonl: one JSON object per line; news-csv: a header row then rows; "
        "reddit: Pushshift-style submissions/comments, one JSON object per line",
    )
    p.add_argument("--source", help="source name stored with each item (default: from the file)")
    p.add_argument("--text-col", help="field holding the text (default: text, body, content...)")
    p.add_argument("--title-col", help="field holding the title (default: title, headline)")
    p.add_argument("--date-col", help="field holding the time (default: published_at, date...)")
    p.add_argument("--url-col", help="field holding the link (default: url, link)")
    p.add_argument("--id-col", help="field holding a stable id, for rows without a link")
    p.add_argument(
        "--date-format",
        help="strptime format of the time, e.g. '%%d-%%m-%%Y %%H:%%M' (default: epoch seconds, "
        "ISO 8601 or RFC 2822; times without a zone are UTC)",
    )
    p.add_argument("--delimiter", help="CSV delimiter (default: sniffed from the header; 'tab')")
    p.add_argument(
        "--batch-size", type=positive_int, default=500, help="rows per transaction (500)"
    )
    p.add_argument(
        "--max-batches",
        type=positive_int,
        help="stop after this many committed batches (a partial import; run again to continue)",
    )
    p.add_argument(
        "--restart", action="store_true", help="read the file from its start again (idempotent)"
    )
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None)
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    """Run the import and print its summary as one JSON object."""
    from collectors.assets import AssetTagger
    from collectors.importers.archive import ArchiveError, ArchiveSpec, backfill

    spec = ArchiveSpec(
        path=args.file,
        format=args.format,
        source=args.source,
        text_col=args.text_col,
        title_col=args.title_col,
        date_col=args.date_col,
        url_col=args.url_col,
        id_col=args.id_col,
        date_format=args.date_format,
        delimiter=args.delimiter,
        batch_size=args.batch_size,
        max_batches=args.max_batches,
        restart=args.restart,
    )
    tagger = AssetTagger.from_settings(settings.assets)
    with open_store(settings) as store:
        try:
            summary = backfill(store, spec, tagger, progress=args.progress)
        except ArchiveError as err:
            raise UserError(str(err)) from None
    print(json.dumps(summary.as_dict()))
    return 0
