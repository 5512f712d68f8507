"""``cryptosense score``: score stored documents with the current sentiment model."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import positive_int
from cryptosense.commands.common import open_store, sentiment_errors


def register(sub: Any) -> None:
    """Add ``score`` to the parser."""
    score = sub.add_parser(
        "score",
        help="score stored documents with the current sentiment model",
        description="Score every stored document that has no score from the current model "
        "(identical text is scored once per model version), then print a summary.",
    )
    score.add_argument("--limit", type=positive_int, help="score at most N documents")
    score.add_argument(
        "--batch-size", type=positive_int, default=256, help="documents per stored batch"
    )
    score.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.scoring import ScoringStats, score_pending
    from nlp.sentiment.lifecycle import build_sentiment_model

    with sentiment_errors():
        model = build_sentiment_model(settings.sentiment, settings.paths)
    stats = ScoringStats()
    with open_store(settings) as store:
        score_pending(store, model, batch_size=args.batch_size, limit=args.limit, stats=stats)
    print(
        f"scored {stats.scored} documents with {model.version} "
        f"({stats.predicted} texts through the model, {stats.cache_hits} from the cache)"
    )
    return 0
