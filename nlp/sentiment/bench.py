"""``cryptosense nlp bench``: the naive path against the project's path, on the same texts.

Naive: the Hugging Face ``pipeline("text-classification")`` on the FP32 model, one text at a
time, on the CPU, which is how most people would score text. Project: the ONNX int8 model
(:mod:`nlp.sentiment.onnx`) behind the scoring cache (:func:`nlp.scoring.predict_with_cache`),
so duplicates cost a lookup, the batch is tokenised at once, sorted by length and padded per
batch. Both run in one process with the same thread count, in interleaved rounds (naive on a
slice, then project on the same slice), so a machine that other jobs slow down part-way
through slows both paths alike and the ratio stays meaningful.

The naive pass doubles as the FP32 reference: its labels are what int8 must agree with, and
when the texts carry labels, both are scored (weighted F1, as ``nlp eval`` reports it).

``levers=True`` also measures, once each on the first texts, what every step from PyTorch to
the project's path is worth (batching, length sorting, ONNX, fusion, int8 and which layers stay
FP32, batch size, threads, spinning), with each step's label agreement with FP32.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np

from core.records import normalise_text
from nlp.sentiment.base import LABEL_NAMES, canonical_label
from nlp.sentiment.data import (
    CRYPTO_CHECK,
    SEED_DATA,
    TFNS_LABEL_MAP,
    DataError,
    LabelledData,
    csv_dict_reader,
    load_labelled,
)
from nlp.sentiment.evaluate import classification_metrics
from nlp.sentiment.hf import idle_cores

log = logging.getLogger(__name__)

#: Issue 4's targets for the project path.
TARGET_RATIO = 8.0
TARGET_AGREEMENT = 0.99
TARGET_F1_POINTS = 1.0
TFNS_RELATIVE = Path("sentiment") / "tfns_train.csv"


@dataclass(frozen=True)
class BenchTexts:
    """The texts to score, their labels when known, and where they came from."""

    texts: list[str]
    labels: np.ndarray | None
    source: str

    @property
    def distinct(self) -> int:
        """Distinct texts after the scoring cache's normalisation."""
        return len({normalise_text(t) for t in self.texts})


def default_bench_texts(real_data: Path | None, n: int) -> BenchTexts:
    """Twitter Financial News (labelled) from ``CRYPTOSENSE_REAL_DATA`` when that folder holds
    it, else the project's own sets."""
    if real_data is not None:
        path = Path(real_data).expanduser() / TFNS_RELATIVE
        if path.is_file():
            return load_bench_texts(
                n, path, text_col="text", label_col="label", label_map=TFNS_LABEL_MAP
            )
        log.warning("%s not found; benchmarking on the project's own sets", path)
    return load_bench_texts(n)


def load_bench_texts(
    n: int,
    data: Path | None = None,
    *,
    text_col: str = "text",
    label_col: str | None = None,
    label_map: str | Mapping[str, str] | None = None,
) -> BenchTexts:
    """The first ``n`` texts of ``data``; without a file, the project's seed and crypto check
    sets, repeated until there are ``n`` (the result's ``distinct`` says how many differ)."""
    if data is None:
        sets = [load_labelled(SEED_DATA), load_labelled(CRYPTO_CHECK)]
        pairs = [(t, int(y)) for d in sets for t, y in zip(d.texts, d.labels, strict=True)]
        chosen = list(islice(cycle(pairs), n))
        return BenchTexts(
            texts=[t for t, _ in chosen],
            labels=np.asarray([y for _, y in chosen], dtype=np.int64),
            source=f"{SEED_DATA.name} + {CRYPTO_CHECK.name} (project sets, repeated to n)",
        )
    if label_col is not None:
        labelled: LabelledData = load_labelled(
            data, text_col=text_col, label_col=label_col, label_map=label_map
        )
        keep = min(n, len(labelled))
        return BenchTexts(list(labelled.texts[:keep]), labelled.labels[:keep], labelled.source)
    return BenchTexts(read_texts(Path(data), text_col, n), None, Path(data).name)


def read_texts(path: Path, text_col: str, n: int) -> list[str]:
    """The first ``n`` non-empty texts of one column of a CSV (read as :func:`load_labelled`
    reads it) or JSONL."""
    path = path.expanduser()
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    texts: list[str] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                rows: Any = (json.loads(line) for line in fh if line.strip())
            else:
                rows = csv_dict_reader(fh)
                if text_col not in (rows.fieldnames or []):
                    raise DataError(
                        f"{path.name} has no text column {text_col!r}; its columns are: "
                        f"{', '.join(rows.fieldnames or []) or '(none)'}"
                    )
            for row in rows:
                value = row.get(text_col) if isinstance(row, dict) else None
                if value is not None and str(value).strip():
                    texts.append(str(value).strip())
                if len(texts) >= n:
                    break
    except (UnicodeDecodeError, csv.Error, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path.name} cannot be read as CSV or JSONL: {err}") from None
    if not texts:
        raise DataError(f"{path.name} has no non-empty texts in column {text_col!r}")
    return texts


def _throughput(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


class _NaivePipeline:
    """The Hugging Face text-classification pipeline, called once per text."""

    def __init__(
        self, model_dir: Path, max_length: int, label_map: Mapping[str, str] | None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import pipeline
        from transformers.utils import logging as hf_logging

        import nlp.sentiment.architecture  # noqa: F401 - registers the project's own classifier

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._pipe = pipeline("text-classification", model=str(model_dir), device="cpu")
        self._max_length = max_length
        names = (self._pipe.model.config.id2label or {}).values()
        self._index = {
            str(name): LABEL_NAMES.index(canonical_label(str(name), label_map).value)
            for name in names
        }

    def labels(self, texts: Sequence[str]) -> list[int]:
        out = []
        for text in texts:
            # same truncation as the project path, so the comparison isolates the runtime
            result = self._pipe(text, truncation=True, max_length=self._max_length)
            out.append(self._index[str(result[0]["label"])])
        return out


def run_bench(
    model_dir: Path,
    data: BenchTexts,
    *,
    cache_root: Path,
    threads: int | None = None,
    max_length: int = 64,
    batch_size: int = 16,
    torch_batch_size: int = 64,
    rounds: int = 4,
    label_map: Mapping[str, str] | None = None,
    levers: bool = False,
    levers_n: int = 1000,
) -> dict[str, Any]:
    """Time both paths on ``data`` in one process and return the figures as a JSON object."""
    from core.store import Store
    from nlp.scoring import ScoringStats, predict_with_cache
    from nlp.sentiment.hf import directory_version, set_threads
    from nlp.sentiment.onnx import OnnxSentimentModel, cache_dir_name, read_meta

    threads = threads or idle_cores()
    load_before = _load_average()
    fp32_version = directory_version(model_dir)
    reused = read_meta(cache_root / cache_dir_name(fp32_version), fp32_version) is not None
    started = time.perf_counter()
    project_model = OnnxSentimentModel.from_directory(
        model_dir,
        cache_root,
        label_map=label_map,
        max_length=max_length,
        batch_size=batch_size,
        threads=threads,
    )
    export_s = time.perf_counter() - started
    set_threads(threads)
    naive = _NaivePipeline(model_dir, project_model.max_length, label_map)
    naive.labels(["warm-up text for the naive path"])
    project_model.predict_proba(["warm-up text for the project path"])  # not through the cache

    texts = data.texts
    fp32_labels: list[int] = []
    int8_probs: list[np.ndarray] = []
    naive_s = project_s = 0.0
    stats = ScoringStats()
    with tempfile.TemporaryDirectory(prefix="cryptosense-bench-") as tmp:
        store = Store(f"sqlite:///{tmp}/cache.db")
        store.create_all()
        try:
            for part in np.array_split(np.arange(len(texts)), max(1, min(rounds, len(texts)))):
                chunk = [texts[i] for i in part]
                t0 = time.perf_counter()
                fp32_labels.extend(naive.labels(chunk))
                t1 = time.perf_counter()
                int8_probs.append(predict_with_cache(store, project_model, chunk, stats))
                t2 = time.perf_counter()
                naive_s += t1 - t0
                project_s += t2 - t1
        finally:
            store.close()
    int8_labels = np.concatenate(int8_probs).argmax(axis=1)
    fp32 = np.asarray(fp32_labels, dtype=np.int64)
    naive_rate = _throughput(len(texts), naive_s)
    project_rate = _throughput(len(texts), project_s)
    result: dict[str, Any] = {
        "naive_texts_per_s": naive_rate,
        "project_texts_per_s": project_rate,
        "ratio": round(project_rate / naive_rate, 2),
        "int8_fp32_label_agreement": round(float(np.mean(int8_labels == fp32)), 4),
        "n": len(texts),
        "unique_texts": data.distinct,
        "model_passes": stats.predicted,
        "cache_hits": stats.cache_hits,
        "threads": threads,
        "fp32_version": fp32_version,
        "int8_version": project_model.version,
        "data": data.source,
        "naive": "transformers pipeline('text-classification'), torch FP32, batch 1, cpu",
        "project": "ONNX Runtime int8, text cache, length-sorted batches "
        f"of {batch_size} padded to their longest member",
        "naive_seconds": round(naive_s, 2),
        "project_seconds": round(project_s, 2),
        "rounds": rounds,
        "max_length": project_model.max_length,
        "export": {"reused": reused, "seconds": round(export_s, 1)},
        "load_average": {"before": load_before, "after": _load_average()},
    }
    if data.labels is not None:
        f1_fp32 = classification_metrics(data.labels, fp32)["weighted_f1"]
        f1_int8 = classification_metrics(data.labels, int8_labels)["weighted_f1"]
        result.update(
            fp32_weighted_f1=round(f1_fp32, 4),
            int8_weighted_f1=round(f1_int8, 4),
            weighted_f1_difference_points=round(100 * (f1_int8 - f1_fp32), 2),
        )
    result["meets_target"] = _meets_target(result)
    if levers:
        result["levers"] = measure_levers(
            model_dir,
            texts[:levers_n],
            threads=threads,
            max_length=project_model.max_length,
            batch_size=batch_size,
            torch_batch_size=torch_batch_size,
        )
    return result


def _meets_target(result: Mapping[str, Any]) -> dict[str, bool]:
    met = {
        "ratio_8x": result["ratio"] >= TARGET_RATIO,
        "agreement_99": result["int8_fp32_label_agreement"] >= TARGET_AGREEMENT,
    }
    if "weighted_f1_difference_points" in result:
        met["f1_within_1_point"] = abs(result["weighted_f1_difference_points"]) <= TARGET_F1_POINTS
    return met


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# --- levers ---------------------------------------------------------------------------------


def measure_levers(
    model_dir: Path,
    texts: Sequence[str],
    *,
    threads: int,
    max_length: int,
    batch_size: int = 16,
    torch_batch_size: int = 64,
) -> dict[str, Any]:
    """Texts/s of each step from PyTorch FP32 to the project's int8 path, measured once each,
    with each step's label agreement with torch FP32 (batch 1, so no padding at all).

    Every ONNX variant comes from one export kept with its intermediate graphs, so the steps
    differ in one thing at a time. Each runner is warmed up on a few texts first.
    """
    from nlp.sentiment.hf import LocalSentimentModel, set_threads
    from nlp.sentiment.onnx import MODEL_FILE, OnnxSentimentModel, build_export, load_for_export

    set_threads(threads)
    steps: list[dict[str, Any]] = []
    reference: list[np.ndarray] = []

    def timed(name: str, run: Callable[[Sequence[str]], np.ndarray]) -> None:
        run(texts[:8])
        started = time.perf_counter()
        labels = np.asarray(run(texts)).argmax(axis=1)
        rate = _throughput(len(texts), time.perf_counter() - started)
        if not reference:
            reference.append(labels)
        agreement = round(float(np.mean(labels == reference[0])), 4)
        steps.append({"step": name, "texts_per_s": rate, "agreement_with_fp32": agreement})
        log.info("lever %s: %.1f texts/s, agreement %.4f", name, rate, agreement)

    torch_model = LocalSentimentModel.load(
        model_dir, max_length=max_length, batch_size=torch_batch_size, threads=threads
    )
    timed(
        "torch fp32, one text per call (no pipeline)",
        lambda batch: np.concatenate([torch_model.predict_proba([t]) for t in batch]),
    )
    timed(
        f"torch fp32, batches of {torch_batch_size} in input order padded to max_length",
        lambda batch: _torch_fixed_padding(torch_model, batch, max_length, torch_batch_size),
    )
    timed(
        f"torch fp32, batches of {torch_batch_size} length-sorted, padded per batch",
        torch_model.predict_proba,
    )

    with tempfile.TemporaryDirectory(prefix="cryptosense-levers-") as tmp:
        export = Path(tmp)
        model, tokenizer = load_for_export(str(model_dir), local_files_only=True)
        meta = build_export(model, tokenizer, export, variants=True)
        meta["source_version"] = "levers"
        (export / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        base: dict[str, Any] = {"max_length": max_length, "threads": threads}
        other_threads = 2 if threads == 1 else 1
        b = f"batches of {batch_size}"
        project = f"onnx int8, MatMul only (the project's model), {b}"
        variants: list[tuple[str, str, dict[str, Any]]] = [
            (f"onnx fp32 as exported, {b}", "model.fp32.onnx", {}),
            (f"onnx fp32 fused by the transformer optimiser, {b}", "model.fused.onnx", {}),
            (f"onnx int8 fused by the transformer optimiser, {b}", "model.int8-fused.onnx", {}),
            (f"onnx int8, embedding lookups int8 too, {b}", "model.int8-gather.onnx", {}),
            (project, MODEL_FILE, {}),
            (f"onnx int8, first FFN output fp32, {b}", "model.int8-ffn0-fp32.onnx", {}),
            (f"onnx int8, every FFN output fp32, {b}", "model.int8-ffn-fp32.onnx", {}),
            *(
                (f"project's int8 model, batches of {size}", MODEL_FILE, {"batch_size": size})
                for size in sorted({8, 16, 32, 64} - {batch_size})
            ),
            (
                f"project's int8 model, {b}, {other_threads} threads",
                MODEL_FILE,
                {"threads": other_threads},
            ),
            (f"project's int8 model, {b}, spinning threads", MODEL_FILE, {"spinning": True}),
        ]
        many = max(threads, other_threads)
        variants.append(
            (
                f"project's int8 model, {b}, {many} threads inside each batch (not side by side)",
                MODEL_FILE,
                {"threads": many, "parallel": "intra-op"},
            )
        )
        for name, graph, options in variants:
            variant = OnnxSentimentModel(
                export, graph=graph, **{**base, "batch_size": batch_size, **options}
            )
            timed(name, variant.predict_proba)
    return {"n": len(texts), "threads": threads, "steps": steps}


def _torch_fixed_padding(
    model: Any, texts: Sequence[str], max_length: int, batch_size: int
) -> np.ndarray:
    """Batched torch inference without length sorting, every batch padded to max_length."""
    import torch

    from nlp.sentiment.base import softmax

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = model.tokenizer(
                list(texts[start : start + batch_size]),
                truncation=True,
                max_length=max_length,
                padding="max_length",
                return_tensors="pt",
            )
            out.append(softmax(model.model(**batch).logits.float().numpy())[:, model.columns])
    return np.concatenate(out)


__all__ = [
    "BenchTexts",
    "default_bench_texts",
    "load_bench_texts",
    "measure_levers",
    "read_texts",
    "run_bench",
]
