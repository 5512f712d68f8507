"""`cryptosense nlp train|eval` (the sentiment model) and `cryptosense score` (stored documents).

Heavy libraries (torch, transformers) are imported inside the handlers, so ``--help`` stays
instant. Model and data problems become a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings
from cryptosense.errors import UserError


def register(sub: Any) -> None:
    """Add ``nlp`` (train, eval) and ``score`` to the parser."""
    parser = sub.add_parser("nlp", help="train and evaluate the sentiment model")
    actions = parser.add_subparsers(dest="nlp_command", metavar="ACTION", required=True)
    _register_train(actions)
    _register_eval(actions)
    score = sub.add_parser(
        "score",
        help="score stored documents with the current sentiment model",
        description="Score every stored document that has no score from the current model "
        "(identical text is scored once per model version), then print a summary.",
    )
    score.add_argument("--limit", type=_positive_int, help="score at most N documents")
    score.add_argument(
        "--batch-size", type=_positive_int, default=256, help="documents per stored batch"
    )
    score.set_defaults(handler=score_handler)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="labelled CSV or JSONL file")
    parser.add_argument("--text-col", default="text", help="text column (default: text)")
    parser.add_argument("--label-col", default="label", help="label column (default: label)")
    parser.add_argument(
        "--label-map",
        help="JSON (or a .json file) from the file's labels to negative/neutral/positive, e.g. "
        '\'{"0":"negative","1":"positive","2":"neutral"}\' for Twitter Financial News',
    )


def _register_train(actions: Any) -> None:
    from nlp.sentiment.train import PACKAGED_ENCODER, TrainConfig

    d = TrainConfig()
    train = actions.add_parser(
        "train",
        help="fine-tune an encoder on labelled text",
        description="Fine-tune the packaged MiniLM (or a local encoder) into a three-class "
        "sentiment model: stratified held-out split, AdamW with linear warm-up and decay, "
        "early stopping on validation weighted F1, a fixed seed. Saves the best weights, the "
        "tokenizer and a model card. Without --out the model goes under "
        "DATA_DIR/models/sentiment/ and becomes the one the service uses.",
    )
    _data_arguments(train)
    train.add_argument(
        "--encoder", default=PACKAGED_ENCODER, help=f"{PACKAGED_ENCODER} or a local directory"
    )
    train.add_argument("--out", type=Path, help="output folder (default: the models folder)")
    train.add_argument("--epochs", type=_positive_int, default=d.epochs)
    train.add_argument("--lr", type=float, default=d.lr)
    train.add_argument("--batch-size", type=_positive_int, default=d.batch_size)
    train.add_argument("--max-length", type=_positive_int, default=d.max_length)
    train.add_argument("--seed", type=int, default=d.seed)
    train.add_argument("--val-frac", type=float, default=d.val_frac)
    train.add_argument(
        "--patience", type=_positive_int, default=d.patience, help="epochs without gain"
    )
    train.add_argument("--warmup-ratio", type=float, default=d.warmup_ratio)
    train.add_argument(
        "--no-group-by-length",
        action="store_true",
        help="plain shuffled batches instead of length-grouped ones (slower, more padding)",
    )
    train.add_argument("--threads", type=_positive_int, help="torch threads (default: idle cores)")
    train.add_argument("--name", help="model name in the version (default: encoder-data)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(handler=train_handler)


def _register_eval(actions: Any) -> None:
    ev = actions.add_parser(
        "eval",
        help="measure a model on labelled text (prints one JSON object)",
        description="Score a labelled file and print one JSON object: accuracy, macro_f1, "
        "weighted_f1, n, labels, confusion_matrix (rows true, columns predicted, order "
        "negative, neutral, positive) and model_version.",
    )
    _data_arguments(ev)
    ev.add_argument(
        "--model",
        help="model directory or hub id (default: the model the service would use)",
    )
    ev.set_defaults(handler=eval_handler)


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} must be at least 1")
    return value


@contextmanager
def _user_errors() -> Iterator[None]:
    """Model and data errors are the user's to fix: a message, not a traceback."""
    from nlp.sentiment.base import LabelMappingError
    from nlp.sentiment.data import DataError
    from nlp.sentiment.hf import ModelLoadError
    from nlp.sentiment.train import TrainError

    try:
        yield
    except (DataError, TrainError, ModelLoadError, LabelMappingError) as err:
        raise UserError(str(err)) from None


def train_handler(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.data import load_labelled
    from nlp.sentiment.factory import train_current_model
    from nlp.sentiment.train import TrainConfig, train_model

    with _user_errors():
        data = load_labelled(
            args.data, text_col=args.text_col, label_col=args.label_col, label_map=args.label_map
        )
        config = TrainConfig(
            encoder=args.encoder,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            max_length=args.max_length,
            seed=args.seed,
            val_frac=args.val_frac,
            patience=args.patience,
            warmup_ratio=args.warmup_ratio,
            group_by_length=not args.no_group_by_length,
            threads=args.threads or settings.sentiment.threads,
            name=args.name,
        )
        config.check()
        print(f"training on {len(data)} rows of {data.source}: {json.dumps(data.counts())}")
        progress = not args.no_progress
        if args.out is None:
            result = train_current_model(settings, data, config, progress=progress)
        else:
            result = train_model(data, config, args.out, progress=progress)
    for e in result.history:
        print(
            f"epoch {e.epoch}: loss {e.train_loss:.4f}  accuracy {e.accuracy:.4f}  "
            f"macro F1 {e.macro_f1:.4f}  weighted F1 {e.weighted_f1:.4f}  ({e.seconds:.0f} s)"
        )
    v = result.validation
    print(
        f"best epoch {result.best_epoch}: held-out weighted F1 {v['weighted_f1']:.4f}, "
        f"accuracy {v['accuracy']:.4f} (n={v['n']}); {result.seconds:.0f} s"
    )
    print(f"saved {result.version} to {result.path} (model card: MODEL_CARD.md)")
    if args.out is None:
        print("this is now the service's sentiment model")
    return 0


def _load_for_eval(spec: str | None, settings: Settings) -> Any:
    from nlp.sentiment.factory import build_sentiment_model, hub_offline
    from nlp.sentiment.hf import HubSentimentModel, LocalSentimentModel

    s = settings.sentiment
    options: dict[str, Any] = {
        "max_length": s.max_length,
        "batch_size": s.batch_size,
        "threads": s.threads,
    }
    if spec is None:
        return build_sentiment_model(settings)
    if Path(spec).expanduser().is_dir():
        return LocalSentimentModel.load(spec, **options)
    if spec.startswith(("/", ".", "~")):
        raise UserError(f"--model {spec}: no such directory")
    if hub_offline():
        raise UserError(f"--model {spec}: not a local directory, and HF_HUB_OFFLINE is set")
    return HubSentimentModel.load(spec, label_map=s.label_map or None, **options)


def eval_handler(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.data import load_labelled
    from nlp.sentiment.evaluate import evaluate

    with _user_errors():
        data = load_labelled(
            args.data, text_col=args.text_col, label_col=args.label_col, label_map=args.label_map
        )
        model = _load_for_eval(args.model, settings)
        result = evaluate(model, data)
    print(json.dumps(result))
    return 0


def score_handler(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import Store
    from nlp.scoring import ScoringStats, score_pending
    from nlp.sentiment.factory import build_sentiment_model

    with _user_errors():
        model = build_sentiment_model(settings)
    store = Store.from_settings(settings)
    stats = ScoringStats()
    try:
        score_pending(store, model, batch_size=args.batch_size, limit=args.limit, stats=stats)
    finally:
        store.close()
    print(
        f"scored {stats.scored} documents with {model.version} "
        f"({stats.predicted} texts through the model, {stats.cache_hits} from the cache)"
    )
    return 0
