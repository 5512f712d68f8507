"""``cryptosense embed``: index stored documents as vectors, printing one JSON summary.

Only documents the vector store lacks are embedded, each with its latest sentiment in the
payload; documents embedded earlier get newer sentiment added.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from cryptosense.commands.args import add_runtime, positive_int
from cryptosense.commands.common import open_store, stored_model_version
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings


def register(sub: Any) -> None:
    """Add ``embed`` to the parser."""
    e = sub.add_parser(
        "embed",
        help="embed stored documents into the vector store (only those not there yet)",
        description="Embed stored documents that the vector store lacks, with their latest "
        "sentiment in the payload, and add newer sentiment to ones embedded earlier.",
    )
    e.add_argument("--limit", type=positive_int, help="embed at most N new documents this run")
    e.add_argument(
        "--model-version",
        help="sentiment model whose scores go into payloads (default: the latest with scores)",
    )
    add_runtime(e)
    e.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.embeddings import EmbeddingError, build_embedder
    from nlp.vectors import VectorStoreError, build_vector_store
    from nlp.vectors.indexing import index_documents

    with open_store(settings) as store:
        version = stored_model_version(store, args.model_version)
        if version is None:
            print("cryptosense: no sentiment scores yet; payloads carry none", file=sys.stderr)
        try:
            embedder = build_embedder(settings.embeddings, settings.paths, args.runtime)
            vectors = build_vector_store(settings.vector, settings.paths, embedder.dim)
            try:
                report = index_documents(store, embedder, vectors, version, limit=args.limit)
                total = vectors.count()
            finally:
                vectors.close()
        except (EmbeddingError, VectorStoreError) as err:
            raise UserError(str(err)) from err
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
