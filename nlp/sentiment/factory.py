"""Loading a sentiment model onto the configured runtime: a local directory or a hub id.

Which model to load, and when to train one, is the lifecycle's decision
(:mod:`nlp.sentiment.lifecycle`); this module only loads what it is given.

Runtime: with ``sentiment.runtime == "onnx-int8"`` (the default) the model is exported once
to ONNX int8 (see :mod:`nlp.sentiment.onnx`) and scored there; if the export fails the log
says why and the torch FP32 model is used instead. ``"torch"`` always uses torch FP32.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from core.settings import SentimentSettings
from nlp.sentiment.base import SentimentModel
from nlp.sentiment.hf import HubSentimentModel, LocalSentimentModel, ModelLoadError

log = logging.getLogger(__name__)

_TRUTHY = {"1", "on", "yes", "true"}


def model_options(settings: SentimentSettings) -> dict[str, Any]:
    """What every loaded model gets from the settings (label map, lengths, threads)."""
    return {
        "label_map": settings.label_map or None,
        "max_length": settings.max_length,
        "batch_size": settings.batch_size,
        "threads": settings.threads,
    }


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as the hub library reads it, or as set since it was imported."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY
    return env or bool(constants.is_offline_mode())


def probe_hub(model_id: str, timeout_s: float, *, endpoint: str | None = None) -> str:
    """The commit the hub serves for ``model_id``; raises ModelLoadError when unreachable."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=endpoint).model_info(model_id, timeout=timeout_s)
    except Exception as err:  # network, HTTP, offline mode, unknown repo: all mean "not now"
        raise ModelLoadError(f"{type(err).__name__}: {err}".splitlines()[0][:300]) from err
    return str(info.sha or "main")


def looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or value.endswith(os.sep)


def load_directory(
    settings: SentimentSettings, onnx_root: Path, path: Path, *, project_model: bool = False
) -> SentimentModel:
    """A local model directory on the configured runtime (torch when the export fails).

    ``project_model``: a model the project trained, whose labels are named canonically, so
    the hub label map does not apply to it.
    """
    options = model_options(settings)
    if project_model:
        options["label_map"] = None
    if settings.runtime == "onnx-int8":
        from nlp.sentiment.onnx import OnnxSentimentModel

        try:
            return OnnxSentimentModel.from_directory(
                path, onnx_root, **_onnx_options(settings, options)
            )
        except (ModelLoadError, ImportError) as err:
            _log_torch_fallback(str(path), err)
    return LocalSentimentModel.load(path, **options)


def load_hub(
    settings: SentimentSettings, onnx_root: Path, model_id: str, commit: str
) -> SentimentModel:
    """A hub model pinned to ``commit`` on the configured runtime (torch when export fails)."""
    options = model_options(settings)
    if settings.runtime == "onnx-int8":
        from nlp.sentiment.onnx import OnnxSentimentModel

        try:
            return OnnxSentimentModel.from_hub(
                model_id, commit, onnx_root, **_onnx_options(settings, options)
            )
        except (ModelLoadError, ImportError) as err:
            _log_torch_fallback(f"{model_id}@{commit}", err)
    return HubSentimentModel.load(model_id, revision=commit, **options)


def _onnx_options(settings: SentimentSettings, options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "batch_size": settings.onnx_batch_size}


def _log_torch_fallback(model: str, err: Exception) -> None:
    log.warning(
        "sentiment runtime onnx-int8 is not available for %s (%s); using torch FP32 instead "
        "(set CRYPTOSENSE_SENTIMENT__RUNTIME=torch to skip the attempt)",
        model,
        err,
    )
