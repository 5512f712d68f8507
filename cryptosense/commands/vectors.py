"""`cryptosense embed` (index stored documents as vectors) and `cryptosense search` (semantic
search with filters, as-of time and near-duplicate stories), both printing JSON lines.

``embed`` prints one summary object; ``search`` prints one object per story:
``{id, score, title, url, assets, source, published_at, ingested_at, sentiment, label,
duplicates, duplicate_ids}`` where ``duplicates`` counts the reposts and syndicated copies
collapsed into it. Times are ISO 8601 UTC on the command line and in the output; the window
``--since``/``--until`` is half-open, so equal bounds are an empty window and print nothing.
An ``--asset`` that no stored document mentions is refused, as the API refuses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.times import TimeParseError, parse_utc
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store import Store
    from nlp.vectors.search import Story


def register(sub: Any) -> None:
    """Add ``embed`` and ``search`` to the parser."""
    e = sub.add_parser(
        "embed",
        help="embed stored documents into the vector store (only those not there yet)",
        description="Embed stored documents that the vector store lacks, with their latest "
        "sentiment in the payload, and add newer sentiment to ones embedded earlier.",
    )
    e.add_argument("--limit", type=_positive, help="embed at most N new documents this run")
    e.add_argument(
        "--model-version",
        help="sentiment model whose scores go into payloads (default: the latest with scores)",
    )
    e.add_argument("--runtime", choices=("onnx-int8", "torch"), help="override embeddings.runtime")
    e.set_defaults(handler=embed_handler)

    s = sub.add_parser(
        "search",
        help="semantic search over embedded documents (JSON lines)",
        description="Search embedded documents by meaning. Copies of one story (reposts, "
        "syndication) are collapsed into one line with a duplicates count.",
    )
    s.add_argument("query", help="what to look for, in plain words")
    s.add_argument(
        "--asset", action="append", default=[], help="only documents tagging ASSET (any case)"
    )
    s.add_argument("--source", action="append", default=[], help="only this source, e.g. rss:x")
    s.add_argument("--family", action="append", default=[], choices=("news", "reddit"))
    s.add_argument("--since", type=_parse_time, help="published at or after (ISO, UTC)")
    s.add_argument(
        "--until", type=_parse_time, help="published before (ISO, UTC); equal to --since: none"
    )
    s.add_argument(
        "--asof",
        type=_parse_time,
        help="only what had been ingested by this time: search as the service knew it then",
    )
    s.add_argument("--limit", type=_positive, default=10, help="stories to print (default 10)")
    s.add_argument(
        "--threshold",
        type=float,
        help="cosine for two documents to be one story (default vector.near_duplicate_threshold)",
    )
    s.add_argument("--same-asset", action="store_true", help="copies must share an asset too")
    s.add_argument("--no-collapse", action="store_true", help="list copies separately")
    s.add_argument("--runtime", choices=("onnx-int8", "torch"), help="override embeddings.runtime")
    s.set_defaults(handler=search_handler)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _parse_time(value: str) -> datetime:
    """ISO 8601 date or time through the project's one UTC parser (no zone: UTC; bare
    numbers and out-of-range times refused)."""
    try:
        return parse_utc(value)
    except TimeParseError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _sentiment_version(store: Store, requested: str | None) -> str | None:
    known = store.scores.versions()
    if requested is not None:
        if requested not in known:
            raise UserError(
                f"no scores from model version {requested!r}; stored versions: "
                + (", ".join(sorted(known)) or "none")
            )
        return requested
    latest = store.scores.latest_version()
    if latest is None:
        print("cryptosense: no sentiment scores yet; payloads carry none", file=sys.stderr)
    return latest


def embed_handler(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import build_store
    from nlp.embeddings import EmbeddingError, build_embedder
    from nlp.vectors import VectorStoreError, build_vector_store
    from nlp.vectors.indexing import index_documents

    store = build_store(settings.db, settings.paths)
    try:
        version = _sentiment_version(store, args.model_version)
        embedder = build_embedder(settings.embeddings, settings.paths, args.runtime)
        vectors = build_vector_store(settings.vector, settings.paths, embedder.dim)
        try:
            report = index_documents(store, embedder, vectors, version, limit=args.limit)
            total = vectors.count()
        finally:
            vectors.close()
    except (EmbeddingError, VectorStoreError) as err:
        raise UserError(str(err)) from err
    finally:
        store.close()
    summary = {
        "embedded": report.embedded,
        "refreshed": report.refreshed,
        "seen": report.seen,
        "skipped_empty": report.skipped_empty,
        "total": total,
        "store": vectors.description,
        "embedder": embedder.name,
        "sentiment_model": version,
        "seconds": report.seconds,
    }
    print(json.dumps(summary))
    return 0


def _known_assets(settings: Settings, raw: list[str]) -> tuple[str, ...]:
    """The ``--asset`` symbols upper-cased; one that no stored document mentions is an
    error, by the same rule as the API's 404 (:func:`core.assets.require_known_asset`)."""
    if not raw:
        return ()
    from core.assets import require_known_asset
    from core.store import build_store

    store = build_store(settings.db, settings.paths)
    try:
        return tuple(require_known_asset(store, a) for a in raw)
    finally:
        store.close()


def search_handler(args: argparse.Namespace, settings: Settings) -> int:
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
