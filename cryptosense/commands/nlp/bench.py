"""``cryptosense nlp bench``: the naive Hugging Face pipeline against the project's int8 path
on the same texts, timed in one run (one JSON object)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.settings import Settings
from cryptosense.commands.args import existing_file, label_map, positive_int
from cryptosense.commands.common import sentiment_errors
from cryptosense.errors import UserError


def register(actions: Any) -> None:
    """Add ``bench`` to the ``nlp`` group."""
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
    bench.add_argument(
        "--data", type=existing_file, help="CSV or JSONL with texts (labels optional)"
    )
    bench.add_argument("--text-col", default="text", help="text column (default: text)")
    bench.add_argument("--label-col", help="label column: adds weighted F1 of FP32 and int8")
    bench.add_argument(
        "--label-map",
        type=label_map,
        help="JSON from the file's labels to negative/neutral/positive",
    )
    bench.add_argument("--n", type=positive_int, default=2000, help="texts (default: 2000)")
    bench.add_argument(
        "--threads", type=positive_int, help="threads for both paths (default: idle cores)"
    )
    bench.add_argument(
        "--rounds", type=positive_int, default=4, help="interleaved naive/project rounds"
    )
    bench.add_argument(
        "--levers",
        action="store_true",
        help="also time each step from torch FP32 to the int8 path (on the first --levers-n)",
    )
    bench.add_argument("--levers-n", type=positive_int, default=1000)
    bench.set_defaults(handler=handle)


def _model_dir(spec: Path | None, settings: Settings) -> Path:
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


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from nlp.sentiment.bench import default_bench_texts, load_bench_texts, run_bench

    if args.data is None and (args.label_col or args.label_map is not None):
        raise UserError("--label-col and --label-map need --data")
    if args.label_map is not None and not args.label_col:
        raise UserError("--label-map needs --label-col")
    model_dir = _model_dir(args.model, settings)
    with sentiment_errors():
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
