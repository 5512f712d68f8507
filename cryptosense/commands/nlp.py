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
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from nlp.sentiment.card import ModelCard


def register(sub: Any) -> None:
    """Add ``nlp`` (train, eval) and ``score`` to the parser."""
    parser = sub.add_parser("nlp", help="train and evaluate the sentiment model")
    actions = parser.add_subparsers(dest="nlp_command", metavar="ACTION", required=True)
    _register_train(actions)
    _register_eval(actions)
    _register_bench(actions)
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
    from nlp.sentiment.train import PACKAGED_ENCODER, POOLINGS, RECIPES, TrainConfig

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
    train.add_argument(
        "--split-seed",
        type=int,
        help="seed of the held-out split (default: --seed); fixes the held-out rows across seeds",
    )
    train.add_argument("--val-frac", type=float, default=d.val_frac)
    train.add_argument(
        "--patience", type=_positive_int, default=d.patience, help="epochs without gain"
    )
    train.add_argument("--warmup-ratio", type=float, default=d.warmup_ratio)
    train.add_argument(
        "--layer-decay",
        type=float,
        default=d.layer_decay,
        help="layer-wise rate decay: each layer below the head trains at this factor of the "
        "one above (1 = off)",
    )
    train.add_argument(
        "--no-group-by-length",
        action="store_true",
        help="plain shuffled batches instead of length-grouped ones (slower, more padding)",
    )
    train.add_argument(
        "--pooling",
        choices=POOLINGS,
        default=d.pooling,
        help="classifier head: mean of the token states (BERT encoders; auto picks it there) "
        "or the stock [CLS] pooler",
    )
    train.add_argument("--threads", type=_positive_int, help="torch threads (default: idle cores)")
    train.add_argument("--name", help="model name in the version (default: encoder-data)")
    recipe = train.add_argument_group(
        "recipe",
        "distil: train --teachers models that differ only in their seed (seed+1 .. seed+K, "
        "same held-out rows), then one student of the same size on hard labels mixed with "
        "the teachers' averaged soft labels. Teachers are kept in --teachers-dir and reused "
        "by a later run whose data and recipe match.",
    )
    recipe.add_argument("--recipe", choices=RECIPES, default=d.recipe)
    recipe.add_argument(
        "--teachers", type=_positive_int, default=d.teachers, help="teachers for distil"
    )
    recipe.add_argument(
        "--distil-alpha",
        type=float,
        default=d.distil_alpha,
        help="weight of the teachers' soft labels in the student's loss (0..1)",
    )
    recipe.add_argument(
        "--temperature", type=float, default=d.temperature, help="softening of teacher labels"
    )
    recipe.add_argument(
        "--teachers-dir",
        type=Path,
        help="where teachers are saved (default: OUT-teachers beside --out, or the models "
        "folder's teachers/ without --out)",
    )
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
    from nlp.sentiment.registry import ModelRegistry
    from nlp.sentiment.train import TrainConfig, train_model

    registry = ModelRegistry(settings.paths.sentiment_models)

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
            split_seed=args.split_seed,
            val_frac=args.val_frac,
            patience=args.patience,
            warmup_ratio=args.warmup_ratio,
            layer_decay=args.layer_decay,
            group_by_length=not args.no_group_by_length,
            pooling=args.pooling,
            threads=args.threads or settings.sentiment.threads,
            name=args.name,
            recipe=args.recipe,
            teachers=args.teachers,
            distil_alpha=args.distil_alpha,
            temperature=args.temperature,
            teachers_dir=_teachers_dir(args, registry.teachers_dir),
        )
        config.check()
        print(f"training on {len(data)} rows of {data.source}: {json.dumps(data.counts())}")
        progress = not args.no_progress
        if args.out is None:
            result = registry.train(data, config, progress=progress)
        else:
            result = train_model(data, config, args.out, progress=progress)
    for e in result.history:
        print(
            f"epoch {e.epoch}: loss {e.train_loss:.4f}  accuracy {e.accuracy:.4f}  "
            f"macro F1 {e.macro_f1:.4f}  weighted F1 {e.weighted_f1:.4f}  ({e.seconds:.0f} s)"
        )
    _print_teachers(result.card)
    v = result.validation
    print(
        f"best epoch {result.best_epoch}: held-out weighted F1 {v.weighted_f1:.4f}, "
        f"accuracy {v.accuracy:.4f} (n={v.n}); {result.seconds:.0f} s"
    )
    print(f"saved {result.version} to {result.path} (model card: MODEL_CARD.md)")
    if args.out is None:
        print("this is now the service's sentiment model")
    return 0


def _teachers_dir(args: argparse.Namespace, registry_teachers: Path) -> str | None:
    """Teachers live beside --out (the trainer's default); without --out, in the registry's
    teachers folder, where a later run can reuse them."""
    if args.teachers_dir is not None:
        return str(args.teachers_dir)
    if args.recipe == "distil" and args.out is None:
        return str(registry_teachers)
    return None


def _print_teachers(card: ModelCard) -> None:
    """For a distilled model: each teacher's and the ensemble's held-out scores (from its card)."""
    d = card.distillation
    if d is None:
        return
    for t in d.teachers:
        reused = ", reused" if t.reused else ""
        print(
            f"teacher {t.name} (seed {t.seed}{reused}): held-out weighted F1 "
            f"{t.validation.weighted_f1:.4f}, accuracy {t.validation.accuracy:.4f}; "
            f"{t.train_seconds:.0f} s"
        )
    print(f"teacher ensemble: held-out weighted F1 {d.ensemble.weighted_f1:.4f}")
    print(f"recipe seconds: {json.dumps(d.seconds)}")


def _load_for_eval(spec: str | None, settings: Settings) -> Any:
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


def eval_handler(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.data import load_labelled, stratified_split
    from nlp.sentiment.evaluate import evaluate

    if args.held_out is not None and not 0 < args.held_out < 1:
        raise UserError(f"--held-out must be a share between 0 and 1, got {args.held_out}")
    with _user_errors():
        data = load_labelled(
            args.data, text_col=args.text_col, label_col=args.label_col, label_map=args.label_map
        )
        if args.held_out is not None:
            _, held_out = stratified_split(data.labels, args.held_out, args.split_seed)
            data = data.subset(held_out)
        model = _load_for_eval(args.model, settings)
        result = evaluate(model, data)
    print(json.dumps(result))
    return 0


def score_handler(args: argparse.Namespace, settings: Settings) -> int:
    from core.store import Store
    from nlp.scoring import ScoringStats, score_pending
    from nlp.sentiment.lifecycle import build_sentiment_model

    with _user_errors():
        model = build_sentiment_model(settings.sentiment, settings.paths)
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


def _register_bench(actions: Any) -> None:
    bench = actions.add_parser(
        "bench",
        help="naive pipeline vs the project's int8 path on the same texts (prints JSON)",
        description="Score the same texts with the Hugging Face pipeline (FP32, batch 1) and "
        "with the project's path (ONNX int8, text cache, length-sorted batches padded per "
        "batch) in one run, and print one JSON object: texts/s of both, their ratio, int8 vs "
        "FP32 label agreement and, for labelled texts, weighted F1 of both. Texts: the first "
        "--n of --data; without --data, Twitter Financial News from CRYPTOSENSE_REAL_DATA "
        "when set, else the project's seed and crypto check sets repeated to --n.",
    )
    bench.add_argument(
        "--model", type=Path, help="model directory (default: the service's local model)"
    )
    bench.add_argument("--data", type=Path, help="CSV or JSONL with texts (labels optional)")
    bench.add_argument("--text-col", default="text", help="text column (default: text)")
    bench.add_argument("--label-col", help="label column: adds weighted F1 of FP32 and int8")
    bench.add_argument(
        "--label-map", help="JSON from the file's labels to negative/neutral/positive"
    )
    bench.add_argument("--n", type=_positive_int, default=2000, help="texts (default: 2000)")
    bench.add_argument(
        "--threads", type=_positive_int, help="threads for both paths (default: idle cores)"
    )
    bench.add_argument(
        "--rounds", type=_positive_int, default=4, help="interleaved naive/project rounds"
    )
    bench.add_argument(
        "--levers",
        action="store_true",
        help="also time each step from torch FP32 to the int8 path (on the first --levers-n)",
    )
    bench.add_argument("--levers-n", type=_positive_int, default=1000)
    bench.set_defaults(handler=bench_handler)


def _bench_model_dir(spec: Path | None, settings: Settings) -> Path:
    """The bench compares runtimes of one local model: --model, or the service's local one."""
    from nlp.sentiment.registry import ModelRegistry

    if spec is not None:
        if not (spec.expanduser() / "config.json").is_file():
            raise UserError(f"--model {spec}: not a model directory (no config.json)")
        return spec.expanduser()
    configured = Path(settings.sentiment.model).expanduser()
    if (configured / "config.json").is_file():
        return configured
    current = ModelRegistry(settings.paths.sentiment_models).current()
    if current is None:
        raise UserError(
            "no local sentiment model to benchmark: pass --model DIR (e.g. a folder written by "
            "`cryptosense nlp train`)"
        )
    return current


def bench_handler(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.bench import default_bench_texts, load_bench_texts, run_bench

    if args.data is None and (args.label_col or args.label_map):
        raise UserError("--label-col and --label-map need --data")
    if args.label_map and not args.label_col:
        raise UserError("--label-map needs --label-col")
    model_dir = _bench_model_dir(args.model, settings)
    with _user_errors():
        if args.data is None:
            texts = default_bench_texts(settings.real_data, args.n)
        else:
            texts = load_bench_texts(
                args.n,
                args.data,
                text_col=args.text_col,
                label_col=args.label_col,
                label_map=args.label_map,
            )
        s = settings.sentiment
        result = run_bench(
            model_dir,
            texts,
            cache_root=settings.paths.sentiment_onnx,
            threads=args.threads or s.threads,
            max_length=s.max_length,
            batch_size=s.onnx_batch_size,
            torch_batch_size=s.batch_size,
            rounds=args.rounds,
            label_map=s.label_map or None,
            levers=args.levers,
            levers_n=args.levers_n,
        )
    print(json.dumps(result))
    return 0
