"""``cryptosense search QUERY``: semantic search with filters, as-of time and near-duplicate
stories, printing one JSON object per story.

Each line is ``{id, score, title, url, assets, source, published_at, ingested_at, sentiment,
label, duplicates, duplicate_ids}`` where ``duplicates`` counts the reposts and syndicated
copies collapsed into it. Times are ISO 8601 UTC on the command line and in the output; the
window ``--since``/``--until`` is half-open, so equal bounds are an empty window and print
nothing. An ``--asset`` that no stored document mentions is refused, as the API refuses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from cryptosense.commands.args import add_runtime, asset_symbol, iso_time, positive_int
from cryptosense.commands.common import open_store
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings
    from nlp.vectors.search import Story


def register(sub: Any) -> None:
    """Add ``search`` to the parser."""
    s = sub.add_parser(
        "search",
        help="semantic search over embedded documents (JSON lines)",
        description="Search embedded documents by meaning. Copies of one story (reposts, "
        "syndication) are collapsed into one line with a duplicates count.",
    )
    s.add_argument("query", help="what to look for, in plain words")
    s.add_argument(
        "--asset",
        type=asset_symbol,
        action="append",
        default=[],
        help="only documents tagging ASSET (any case)",
    )
    s.add_argument("--source", action="append", default=[], help="only this source, e.g. rss:x")
    s.add_argument("--family", action="append", default=[], choices=("news", "reddit"))
    s.add_argument("--since", type=iso_time, help="published at or after (ISO, UTC)")
    s.add_argument(
        "--until", type=iso_time, help="published before (ISO, UTC); equal to --since: none"
    )
    s.add_argument(
        "--asof",
        type=iso_time,
        help="only what had been ingested by this time: search as the service knew it then",
    )
    s.add_argument("--limit", type=positive_int, default=10, help="stories to print (default 10)")
    s.add_argument(
        "--threshold",
        type=float,
        help="cosine for two documents to be one story (default vector.near_duplicate_threshold)",
    )
    s.add_argument("--same-asset", action="store_true", help="copies must share an asset too")
    s.add_argument("--no-collapse", action="store_true", help="list copies separately")
    add_runtime(s)
    s.set_defaults(handler=handle)


def _known_assets(settings: Settings, raw: list[str]) -> tuple[str, ...]:
    """The ``--asset`` symbols; one that no stored document mentions is an error, by the
    same rule as the API's 404 (:func:`core.assets.require_known_asset`)."""
    if not raw:
        return ()
    from core.assets import require_known_asset

    with open_store(settings) as store:
        return tuple(require_known_asset(store, a) for a in raw)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.embeddings import EmbeddingError, build_embedder
    from nlp.vectors import SearchFilter, VectorStoreError
    from nlp.vectors.search import QueryError
    from nlp.vectors.service import VectorSearch

    threshold = (
        args.threshold if args.threshold is not None else settings.vector.near_duplicate_threshold
    )
    if not 0.5 <= threshold <= 1.0:
        raise UserError("--threshold must be between 0.5 and 1.0")
    if not args.query.strip():
        raise UserError("the search query is empty")
    assets = _known_assets(settings, args.asset)
    try:
        filters = SearchFilter(
            assets=assets,
            sources=tuple(args.source),
            families=tuple(args.family),
            published_since=args.since,
            published_until=args.until,
            asof=args.asof,
        )
    except ValueError as err:
        raise UserError(f"--until must not be before --since ({err})") from err
    try:
        embedder = build_embedder(settings.embeddings, settings.paths, args.runtime)
        search = VectorSearch(
            settings.vector, settings.embeddings, settings.paths, embedder=embedder
        )
        try:
            if search.count() == 0:
                print(
                    "cryptosense: the vector store is empty; run `cryptosense embed`",
                    file=sys.stderr,
                )
            stories = search.search(
                args.query,
                filters,
                limit=args.limit,
                collapse=not args.no_collapse,
                same_asset=args.same_asset,
                threshold=threshold,
            )
        finally:
            search.close()
    except (EmbeddingError, VectorStoreError, QueryError) as err:
        raise UserError(str(err)) from err
    lines = [_story_line(s) for s in stories]
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    return 0


def _story_line(story: Story) -> dict[str, Any]:
    from nlp.vectors.search import story_fields

    fields = story_fields(story)
    for key in ("published_at", "ingested_at"):
        fields[key] = fields[key].isoformat() if fields[key] is not None else None
    return fields
