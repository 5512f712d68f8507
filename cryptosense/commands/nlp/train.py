"""``cryptosense nlp train``: fine-tune an encoder into the three-class sentiment model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from cryptosense.commands.args import add_labelled_data, positive_int, source_weight
from cryptosense.commands.common import sentiment_errors
from cryptosense.errors import UserError

if TYPE_CHECKING:
    from nlp.sentiment.card import ModelCard


def register(actions: Any) -> None:
    """Add ``train`` to the ``nlp`` group."""
    from nlp.sentiment.train import PACKAGED_ENCODER, POOLINGS, RECIPES, TrainConfig

    d = TrainConfig()
    train = actions.add_parser(
        "train",
        help="fine-tune an encoder on labelled text",
        description="Fine-tune the packaged MiniLM (or a local encoder) into a three-class "
        "sentiment model: held-out rows (stratified, or each --crypto source's own: the latest "
        "period), AdamW with linear warm-up and decay, early stopping on the held-out figures, "
        "a fixed seed. Saves the best weights, the tokenizer and a model card with held-out "
        "figures per source. Without --out the model goes under DATA_DIR/models/sentiment/ "
        "and becomes the one the service uses.",
    )
    add_labelled_data(train)
    train.add_argument(
        "--weight",
        type=source_weight,
        action="append",
        default=[],
        metavar="FILE=W",
        help="with --crypto: the training weight of one source, e.g. "
        "stocktwits_eth_2022.csv=0.5 (repeatable; default: the presets' weights)",
    )
    train.add_argument(
        "--encoder", default=PACKAGED_ENCODER, help=f"{PACKAGED_ENCODER} or a local directory"
    )
    train.add_argument("--out", type=Path, help="output folder (default: the models folder)")
    train.add_argument("--epochs", type=positive_int, default=d.epochs)
    train.add_argument("--lr", type=float, default=d.lr)
    train.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    train.add_argument("--max-length", type=positive_int, default=d.max_length)
    train.add_argument("--seed", type=int, default=d.seed)
    train.add_argument(
        "--split-seed",
        type=int,
        help="seed of the held-out split (default: --seed); fixes the held-out rows across seeds",
    )
    train.add_argument("--val-frac", type=float, default=d.val_frac)
    train.add_argument(
        "--patience", type=positive_int, default=d.patience, help="epochs without gain"
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
    train.add_argument("--threads", type=positive_int, help="torch threads (default: idle cores)")
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
        "--teachers", type=positive_int, default=d.teachers, help="teachers for distil"
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
    train.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.data import combine_sources, load_labelled
    from nlp.sentiment.registry import ModelRegistry
    from nlp.sentiment.sources import crypto_sources
    from nlp.sentiment.train import TrainConfig, train_model

    registry = ModelRegistry(settings.paths.sentiment_models)

    if args.weight and args.crypto is None:
        raise UserError("--weight applies to the sources of --crypto")
    with sentiment_errors():
        if args.crypto is not None:
            sources = crypto_sources(args.crypto, dict(args.weight))
            data = combine_sources([(s.load(), s.weight) for s in sources])
        else:
            data = load_labelled(
                args.data,
                text_col=args.text_col,
                label_col=args.label_col,
                label_map=args.label_map,
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
    _print_per_source(result.card)
    print(f"saved {result.version} to {result.path} (model card: MODEL_CARD.md)")
    if args.out is None:
        print("this is now the service's sentiment model")
    return 0


def _print_per_source(card: ModelCard) -> None:
    """Each source's held-out figures, from the card."""
    from nlp.sentiment.card import HELD_OUT_PREFIX

    for name, e in card.validation.items():
        if not name.startswith(HELD_OUT_PREFIX):
            continue
        extra = e.model_extra or {}
        auc = "n/a" if e.roc_auc is None else f"{e.roc_auc:.4f}"
        print(
            f"  {name[len(HELD_OUT_PREFIX) :]}: weighted F1 {e.weighted_f1:.4f}, ROC AUC {auc}, "
            f"polar accuracy {extra.get('polar_accuracy', 0):.4f}, called neutral "
            f"{extra.get('called_neutral', 0):.4f} (n={e.n})"
        )


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
