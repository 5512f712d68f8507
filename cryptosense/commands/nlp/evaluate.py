"""``cryptosense nlp eval``: measure a sentiment model on labelled text (one JSON object).

Named ``evaluate`` because ``eval`` is a Python builtin.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import add_labelled_data
from cryptosense.commands.common import sentiment_errors
from cryptosense.errors import UserError


def register(actions: Any) -> None:
    """Add ``eval`` to the ``nlp`` group."""
    ev = actions.add_parser(
        "eval",
        help="measure a model on labelled text (prints one JSON object)",
        description="Score a labelled file and print one JSON object: accuracy, macro_f1, "
        "weighted_f1, n, labels, confusion_matrix (rows true, columns predicted, order "
        "negative, neutral, positive), the polarity figures of the signed score "
        "p_positive - p_negative on the polar rows (roc_auc, polar_accuracy, sign_accuracy, "
        "called_neutral; the only figures for a label set without neutral), per_source for "
        "rows from several sources, and model_version. With --crypto: each known source's "
        "held-out rows, the ones the crypto model never trained on.",
    )
    add_labelled_data(ev)
    ev.add_argument(
        "--source-col",
        help="column naming each row's source in a file that mixes sources: figures per source",
    )
    ev.add_argument(
        "--model",
        help="model directory or hub id (default: the model the service would use)",
    )
    ev.add_argument(
        "--teacher",
        action="store_true",
        help="measure the local LLM teacher (about half a second a text; labels cached under "
        "<data dir>/models/teacher) instead of a classifier, before trusting its labels",
    )
    ev.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="score at most N rows of each source (a seeded random sample)",
    )
    ev.add_argument(
        "--held-out",
        type=float,
        metavar="FRAC",
        help="score only the rows `nlp train --val-frac FRAC` held out of this file "
        "(same stratified split), e.g. to check a model card's held-out numbers",
    )
    ev.add_argument(
        "--split-seed",
        type=int,
        default=13,
        help="seed of that split: the training run's --split-seed, else its --seed (default 13)",
    )
    ev.set_defaults(handler=handle)


def _load_model(spec: str | None, settings: Settings) -> Any:
    """``--model``: a local directory or a hub id; none: the model the service would use."""
    from nlp.sentiment.factory import hub_offline
    from nlp.sentiment.hf import HubSentimentModel, LocalSentimentModel
    from nlp.sentiment.lifecycle import build_sentiment_model

    s = settings.sentiment
    options: dict[str, Any] = {
        "max_length": s.max_length,
        "batch_size": s.batch_size,
        "threads": s.threads,
    }
    if spec is None:
        return build_sentiment_model(settings.sentiment, settings.paths)
    if Path(spec).expanduser().is_dir():
        return LocalSentimentModel.load(spec, **options)
    if spec.startswith(("/", ".", "~")):
        raise UserError(f"--model {spec}: no such directory")
    if hub_offline():
        raise UserError(f"--model {spec}: not a local directory, and HF_HUB_OFFLINE is set")
    return HubSentimentModel.load(spec, label_map=s.label_map or None, **options)


def _load_teacher(settings: Settings) -> Any:
    from nlp.llm.runtime import load_llama
    from nlp.sentiment.teacher import LlmTeacher, TeacherCache, TeacherModel

    llm = load_llama(settings.agent.model_path, n_ctx=1024, threads=settings.sentiment.threads)
    cache = TeacherCache(settings.paths.models / "teacher" / "labels.jsonl")
    return TeacherModel(LlmTeacher(llm), cache)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.data import combine_sources, load_labelled, stratified_split
    from nlp.sentiment.evaluate import evaluate
    from nlp.sentiment.sources import crypto_sources

    if args.held_out is not None and not 0 < args.held_out < 1:
        raise UserError(f"--held-out must be a share between 0 and 1, got {args.held_out}")
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    if args.teacher and args.model:
        raise UserError("--teacher measures the local LLM; drop --model")
    if args.crypto is not None and (args.held_out is not None or args.source_col):
        raise UserError("--crypto scores each source's own held-out rows; drop --held-out")
    with sentiment_errors():
        if args.crypto is not None:
            both = combine_sources([(s.load(), s.weight) for s in crypto_sources(args.crypto)])
            assert both.held_out is not None  # noqa: S101 - every preset holds rows out
            data = both.subset(both.held_out.nonzero()[0])
        else:
            data = load_labelled(
                args.data,
                text_col=args.text_col,
                label_col=args.label_col,
                label_map=args.label_map,
                source_col=args.source_col,
            )
        if args.held_out is not None:
            _, held_out = stratified_split(data.labels, args.held_out, args.split_seed)
            data = data.subset(held_out)
        if args.limit is not None:
            data = data.sample_per_source(args.limit)
        model = _load_teacher(settings) if args.teacher else _load_model(args.model, settings)
        result = evaluate(model, data)
    print(json.dumps(result))
    return 0
