"""Fast CPU sentiment inference: the classifier exported to ONNX and quantised to int8.

Why this exists: on the project's 2-core machines a MiniLM classifier through PyTorch FP32 is
the slowest part of scoring. The same weights exported to ONNX with their matrix
multiplications quantised to int8 (weights per output channel, activations per batch at run
time) score several times faster with labels that agree with FP32 on about 99% of texts.

Two choices here were measured, not assumed (figures in docs/sentiment.md, "Fast inference"):

- The graph is *not* rewritten offline by onnxruntime's transformer optimiser. Its fused
  ``Attention``/``SkipLayerNormalization`` kernels ran 10-18% slower on these CPUs than the
  plain graph, which ONNX Runtime still optimises when the session loads (layer norm, GELU
  and int8 MatMul fusions). :func:`build_export` can still produce the fused variant so the
  benchmark keeps measuring it.
- Only the matrix multiplications are quantised; the embedding lookups (``Gather``) stay
  FP32. Quantising the embedding tables too (onnxruntime's default operator list) made the
  graph slower, not faster (an int8 lookup is followed by a dequantise on every token), and
  flipped more labels: on 2,000 finance tweets with the mean-pooled TFNS MiniLM, MatMul-only
  int8 agreed with FP32 on 99.35% of texts at 177 texts/s, the default list on 99.0% at 155,
  and the previous recipe (default list, first feed-forward output kept FP32) on 98.95% at
  148, all on one thread in one run.

The export happens once per source model version and is cached under
``data_dir/models/sentiment-onnx/<source version>/`` (the int8 graph, the fast tokenizer and a
``meta.json``); later runs only load it and need neither torch nor transformers. The model's
``version`` is the source version plus ``+int8r3``, so int8 scores and cache entries never mix with
the FP32 model's.

Inference follows the same rules as the torch path: the whole batch is tokenised at once by
the Rust tokenizer, texts are sorted by length and each batch is padded only to its own longest
member. With more than one thread (one per idle core, see :func:`nlp.sentiment.hf.idle_cores`)
whole batches run side by side, one single-threaded ONNX Runtime call per core, instead of
splitting every small matrix product of one batch across cores: a 16-tweet batch is too
small for intra-op threads to pay for their hand-offs. ``parallel="intra-op"`` keeps the
other way, which suits one large batch.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment.base import column_order, softmax
from nlp.sentiment.hf import ModelLoadError, directory_version, idle_cores

log = logging.getLogger(__name__)

#: Changes whenever the export or quantisation recipe changes, so stale caches rebuild.
EXPORT_RECIPE = "eager-opset17-int8-perchannel-matmul-v3"
#: Appended to the source model's version: int8 scores are never mixed with FP32 ones. A
#: recipe change that moves scores must change this suffix too (e.g. ``+int8r3``).
VERSION_SUFFIX = "+int8r3"
MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
#: The feed-forward output projections of BERT-style (``layer.N/output/dense``) and DistilBERT
#: (``layer.N/ffn/lin2``) encoders in the exported graph; group 1 is the layer number.
FFN_OUTPUT = re.compile(r"layer\.(\d+)/(?:output/dense|ffn/lin2)/MatMul$")
#: The operators quantised to int8: matrix multiplications only (see the module docstring).
INT8_OPS = ("MatMul",)
#: Encoder families whose attention the onnxruntime optimiser fuses with its "bert" rules.
FUSABLE_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
#: How several threads share the work: whole batches side by side, or each batch's operators.
PARALLEL_MODES = ("batches", "intra-op")
#: Texts the export is checked on: the FP32 graph must reproduce torch's logits on them.
PROBE_TEXTS = (
    "Bitcoin smashes to a new all-time high as ETF inflows surge",
    "Exchange hacked, $200 million stolen, token crashes 60%",
    "Fed minutes due at 2pm",
    "ok",
)

Loader = Callable[[], tuple[Any, Any]]


class OnnxExportError(ModelLoadError):
    """The model could not be exported, fused, quantised or loaded on ONNX Runtime."""


def cache_dir_name(source_version: str) -> str:
    """A folder name for a source version (hub versions contain ``/`` and ``@``)."""
    return re.sub(r"[^A-Za-z0-9._@+-]+", "--", source_version).strip("-.") or "model"


def read_meta(export_dir: Path, source_version: str | None = None) -> dict[str, Any] | None:
    """The export's metadata if the folder holds a complete export of the current recipe
    (and of ``source_version`` when given); ``None`` means it must be (re)built."""
    path = export_dir / META_FILE
    if not (path.is_file() and (export_dir / MODEL_FILE).is_file()):
        return None
    if not (export_dir / TOKENIZER_FILE).is_file():
        return None
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("recipe") != EXPORT_RECIPE:
        return None
    if source_version is not None and meta.get("source_version") != source_version:
        return None
    return meta


def load_for_export(source: str, **kwargs: Any) -> tuple[Any, Any]:
    """A classifier and its tokenizer with eager attention.

    Eager attention traces to the MatMul/Softmax pattern the onnxruntime optimiser fuses into
    one ``Attention`` kernel; the default SDPA attention traces to a form it leaves unfused.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    import nlp.sentiment.architecture  # noqa: F401 - registers the project's own classifier

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, attn_implementation="eager", **kwargs
    )
    return model.eval(), tokenizer


def ensure_export(source_version: str, cache_root: Path, loader: Loader) -> Path:
    """The cached int8 export of ``source_version``, built first when absent or stale.

    ``loader`` loads the torch model and tokenizer and is called only when an export has to
    be built. The export is written to a temporary folder and renamed into place under a file
    lock, so two processes never export the same model at once and an interrupted export never
    leaves a half-written folder that a later run would load.
    """
    target = cache_root / cache_dir_name(source_version)
    if read_meta(target, source_version) is not None:
        log.debug("reusing the ONNX int8 export in %s", target)
        return target
    try:
        from filelock import FileLock

        cache_root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache_root / f".{target.name}.lock")):
            if read_meta(target, source_version) is None:  # or another process just built it
                _build_into(target, source_version, loader)
    except OnnxExportError:
        raise
    except Exception as err:  # torch.onnx, the optimiser, the quantiser, the file system
        raise OnnxExportError(
            f"exporting {source_version} to ONNX int8 under {cache_root} failed: "
            f"{type(err).__name__}: {err}"
        ) from err
    return target


def _build_into(target: Path, source_version: str, loader: Loader) -> None:
    log.info("exporting %s to ONNX int8 under %s (once per model version)", source_version, target)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        model, tokenizer = loader()
        meta = build_export(model, tokenizer, work)
        meta["source_version"] = source_version
        (work / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        work.chmod(0o755)  # mkdtemp makes it private; the cache is shared like data_dir
        if target.exists():  # an export of an older recipe, or a broken leftover
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _OnnxToolsChatter(logging.Filter):
    """Drops onnxruntime's export-time INFO lines (hundreds of them, many on the root logger)
    and its generic advice to pre-process; its real warnings and errors still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if f"{os.sep}onnxruntime{os.sep}" not in record.pathname:
            return True
        advice = record.getMessage().startswith("Please consider to run pre-processing")
        return record.levelno >= logging.WARNING and not advice


@contextmanager
def _quiet_onnx_tools() -> Iterator[None]:
    """Filter onnxruntime's chatter while the export runs: on the root logger (its quantiser
    logs there directly) and on the root handlers (its optimiser's named loggers propagate)."""
    root = logging.getLogger()
    targets: list[logging.Filterer] = [root, *root.handlers]
    chatter = _OnnxToolsChatter()
    for target in targets:
        target.addFilter(chatter)
    try:
        yield
    finally:
        for target in targets:
            target.removeFilter(chatter)


def build_export(
    model: Any, tokenizer: Any, out_dir: Path, *, variants: bool = False
) -> dict[str, Any]:
    """Export, check and quantise ``model`` into ``out_dir``; returns the metadata.

    With ``variants`` the other graphs the benchmark compares stay beside it:
    ``model.fp32.onnx`` (as exported), ``model.fused.onnx`` (optimiser-fused FP32),
    ``model.int8-fused.onnx``, ``model.int8-gather.onnx`` (onnxruntime's default operator
    list: embedding lookups int8 too), ``model.int8-ffn0-fp32.onnx`` (the first feed-forward
    output projection FP32) and ``model.int8-ffn-fp32.onnx`` (every one FP32).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise OnnxExportError(
            "the ONNX runtime needs a fast (Rust) tokenizer with a tokenizer.json"
        )
    with _quiet_onnx_tools():
        return _build_export(model, tokenizer, out_dir, variants=variants)


def _build_export(model: Any, tokenizer: Any, out_dir: Path, *, variants: bool) -> dict[str, Any]:
    config = model.config
    raw = out_dir / "model.fp32.onnx"
    inputs = export_fp32(model, tokenizer, raw)
    max_diff = check_against_torch(model, tokenizer, raw, inputs)
    quantise(raw, out_dir / MODEL_FILE)
    if variants:
        ffn = ffn_output_nodes(raw)
        quantise(raw, out_dir / "model.int8-gather.onnx", op_types=None)
        first = [name for layer, name in ffn if layer == 0]
        quantise(raw, out_dir / "model.int8-ffn0-fp32.onnx", keep_fp32=first)
        quantise(raw, out_dir / "model.int8-ffn-fp32.onnx", keep_fp32=[n for _, n in ffn])
        optimise(raw, out_dir / "model.fused.onnx", config)
        quantise(out_dir / "model.fused.onnx", out_dir / "model.int8-fused.onnx", op_types=None)
    else:
        raw.unlink()
    tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_FILE))
    limits = [
        int(v)
        for v in (getattr(tokenizer, "model_max_length", None), config.max_position_embeddings)
        if isinstance(v, int) and 0 < v < 1_000_000
    ]
    return {
        "recipe": EXPORT_RECIPE,
        "model_type": config.model_type,
        "id2label": {str(k): str(v) for k, v in config.id2label.items()},
        "inputs": list(inputs),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "max_length": min(limits) if limits else 512,
        "int8_ops": list(INT8_OPS),
        "fp32_vs_torch_max_abs_logit_diff": max_diff,
    }


def ffn_output_nodes(graph: Path) -> list[tuple[int, str]]:
    """(layer, node name) of every feed-forward output projection in an exported graph."""
    import onnx

    found = []
    for node in onnx.load(str(graph), load_external_data=False).graph.node:
        match = FFN_OUTPUT.search(node.name)
        if node.op_type == "MatMul" and match:
            found.append((int(match.group(1)), node.name))
    return found


def export_fp32(model: Any, tokenizer: Any, out: Path) -> tuple[str, ...]:
    """Trace the classifier to ONNX with dynamic batch and sequence axes; returns its inputs."""
    import torch

    sample = tokenizer(
        ["a short sample", "a slightly longer sample sentence for tracing the graph"],
        padding=True,
        return_tensors="pt",
    )
    inputs = tuple(name for name in _INPUT_NAMES if name in sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}

    class _Logits(torch.nn.Module):
        """Positional inputs in, logits out: the plain signature the exporter wants."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.inner(**dict(zip(inputs, args, strict=True))).logits
            return out

    # The tracer warns about Python branches in the attention code that are constant for an
    # encoder; check_against_torch is what shows the graph is right.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model).eval(),  # the exporter restores the wrapper's mode afterwards
            tuple(sample[name] for name in inputs),
            str(out),
            input_names=list(inputs),
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return inputs


def optimise(src: Path, dst: Path, config: Any) -> dict[str, int]:
    """Fuse attention, GELU and layer norms into single kernels; returns the fused counts.

    Encoders the optimiser does not know are copied unchanged (ONNX Runtime still applies its
    generic graph optimisations when the session loads).
    """
    if config.model_type not in FUSABLE_MODEL_TYPES:
        shutil.copyfile(src, dst)
        log.info(
            "no transformer fusion rules for model type %r; graph left unfused", config.model_type
        )
        return {}
    from onnxruntime.transformers.optimizer import optimize_model

    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    optimised = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden)
    optimised.save_model_to_file(str(dst))
    stats = optimised.get_fused_operator_statistics() or {}
    fused = {str(k): int(v) for k, v in stats.items() if v}
    log.info("fused operators: %s", fused)
    return fused


def quantise(
    src: Path,
    dst: Path,
    *,
    keep_fp32: Sequence[str] = (),
    op_types: Sequence[str] | None = INT8_OPS,
) -> None:
    """Dynamic int8: weights quantised once per output channel, activations per batch.

    Per-channel weights keep labels closest to FP32 (per-tensor scales flipped about 2% of
    finance tweets on the project's MiniLM, per-channel about 1%). ``keep_fp32`` names
    nodes left in FP32; ``op_types`` the operators quantised (None: onnxruntime's default
    list, which includes embedding lookups and fused attention).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=list(keep_fp32),
        op_types_to_quantize=None if op_types is None else list(op_types),
        # fused contrib operators have no inferred types; their tensors are all float32
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def check_against_torch(model: Any, tokenizer: Any, graph: Path, inputs: Sequence[str]) -> float:
    """The exported FP32 graph must give torch's logits on the probe texts.

    A silently wrong export would score every text wrongly; this catches it before anything
    is cached. Returns the largest absolute logit difference.
    """
    import onnxruntime as ort
    import torch

    batch = tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    model.eval()
    with torch.inference_mode():
        expected = model(**{k: batch[k] for k in inputs}).logits.float().numpy()
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: batch[k].numpy().astype(np.int64) for k in inputs})[0]
    diff = float(np.max(np.abs(np.asarray(got) - expected)))
    if not diff < 1e-3:
        raise OnnxExportError(
            f"the exported graph does not reproduce the torch model (logits differ by {diff:.3g})"
        )
    return diff


def session_options(threads: int, *, spinning: bool = False) -> Any:
    """All graph optimisations, ``threads`` intra-op threads, one inter-op thread.

    Spinning is off by default: a waiting worker that spins steals the core another process
    (or the tokenizer) needs on a small shared machine.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxSentimentModel:
    """A three-class sentiment classifier on ONNX Runtime int8 (implements SentimentModel)."""

    def __init__(
        self,
        export_dir: Path,
        *,
        label_map: Mapping[str, str] | None = None,
        max_length: int = 64,
        batch_size: int = 16,
        threads: int | None = None,
        graph: str = MODEL_FILE,
        spinning: bool = False,
        parallel: str = "batches",
    ) -> None:
        if parallel not in PARALLEL_MODES:
            raise ValueError(f"parallel must be one of {PARALLEL_MODES}, not {parallel!r}")
        meta = read_meta(export_dir)
        if meta is None:
            raise OnnxExportError(f"{export_dir} holds no complete ONNX export of this recipe")
        self.export_dir = export_dir
        #: The source model directory when loaded from one (its model card lives there).
        self.path: Path | None = None
        self.source_version = str(meta["source_version"])
        self._version = self.source_version + VERSION_SUFFIX
        self.columns = column_order({int(k): v for k, v in meta["id2label"].items()}, label_map)
        self.inputs = tuple(meta["inputs"])
        self.pad_id = int(meta.get("pad_id", 0))
        self.max_length = int(min(max_length, meta["max_length"]))
        self.batch_size = batch_size
        self.threads = threads or idle_cores()
        self.parallel = parallel
        #: Batches in flight at once; each ONNX Runtime call then gets one intra-op thread.
        self.workers = self.threads if parallel == "batches" else 1
        intra = 1 if self.workers > 1 else self.threads
        self._session = self._open(export_dir / graph, intra, spinning=spinning)
        self._pool = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-sentiment")
            if self.workers > 1
            else None
        )
        self.tokenizer = self._open_tokenizer(export_dir / TOKENIZER_FILE)

    @staticmethod
    def _open(path: Path, threads: int, *, spinning: bool) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(
                str(path),
                session_options(threads, spinning=spinning),
                providers=["CPUExecutionProvider"],
            )
        except Exception as err:  # onnxruntime raises its own untyped errors for bad files
            raise OnnxExportError(
                f"cannot load {path} ({err}); delete {path.parent} and it will be rebuilt"
            ) from err

    def _open_tokenizer(self, path: Path) -> Any:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust tokenizer raises a bare Exception on bad files
            raise OnnxExportError(f"cannot load {path}: {err}") from err
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_length)
        return tokenizer

    @property
    def version(self) -> str:
        return self._version

    @classmethod
    def from_directory(
        cls, path: Path | str, cache_root: Path, **options: Any
    ) -> OnnxSentimentModel:
        """A local classifier directory, exported on first use (keyed on its weights' hash)."""
        directory = Path(path).expanduser()
        if not (directory / "config.json").is_file():
            raise ModelLoadError(f"{directory} is not a model directory (no config.json)")
        model = cls._cached(
            directory_version(directory),
            cache_root,
            lambda: load_for_export(str(directory), local_files_only=True),
            options,
        )
        model.path = directory
        return model

    @classmethod
    def from_hub(
        cls, model_id: str, commit: str, cache_root: Path, **options: Any
    ) -> OnnxSentimentModel:
        """A hub classifier pinned to one commit; the hub is asked only to build the export."""
        return cls._cached(
            f"{model_id}@{commit}",
            cache_root,
            lambda: load_for_export(model_id, revision=commit),
            options,
        )

    @classmethod
    def _cached(
        cls, version: str, cache_root: Path, loader: Loader, options: dict[str, Any]
    ) -> OnnxSentimentModel:
        """Load the cached export; one that no longer loads (a truncated or damaged file) is
        rebuilt once instead of leaving the service on the slower torch path for good."""
        export = ensure_export(version, cache_root, loader)
        try:
            return cls(export, **options)
        except OnnxExportError as err:
            log.warning("the cached export %s does not load (%s); rebuilding it", export, err)
            shutil.rmtree(export, ignore_errors=True)
            return cls(ensure_export(version, cache_root, loader), **options)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (negative, neutral, positive) per text, in the order given."""
        out = np.empty((len(texts), 3), dtype=np.float64)
        if len(texts) == 0:
            return out
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(idx: np.ndarray) -> np.ndarray:
            return self._run([encodings[i] for i in idx], int(lengths[idx].max()))

        # ONNX Runtime releases the GIL while it computes, so threads here use real cores
        results = (
            self._pool.map(run, batches)
            if self._pool is not None and len(batches) > 1
            else map(run, batches)
        )
        for idx, logits in zip(batches, results, strict=True):
            out[idx] = softmax(logits.astype(np.float64))[:, self.columns]
        return out

    def _run(self, encodings: list[Any], width: int) -> np.ndarray:
        """One batch padded to its longest member (``width``), never to ``max_length``."""
        feed = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in self.inputs}
        feed["input_ids"].fill(self.pad_id)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            feed["input_ids"][row, :n] = enc.ids
            feed["attention_mask"][row, :n] = enc.attention_mask
            if "token_type_ids" in feed:
                feed["token_type_ids"][row, :n] = enc.type_ids
        return np.asarray(self._session.run(None, feed)[0])


__all__ = [
    "EXPORT_RECIPE",
    "VERSION_SUFFIX",
    "OnnxExportError",
    "OnnxSentimentModel",
    "ensure_export",
]
