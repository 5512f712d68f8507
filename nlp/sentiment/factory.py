"""Which sentiment model the service uses, and the offline fallback that makes one.

Order: (a) ``settings.sentiment.model`` names a local directory: load it; (b) the project
trained a model earlier (``data_dir/models/sentiment/CURRENT`` names it): load it; (c) the
hub id, with a short timeout and ``HF_HUB_OFFLINE`` respected; (d) the hub is unreachable:
say so, train the offline model now (from ``settings.sentiment.train_data`` when given, else
from the project's seed set), save it, point ``CURRENT`` at it and use it. A later start finds
it in (b) and never trains twice. Keyword rules are never a fallback: a fresh machine without
the hub still gets a real fine-tuned transformer.

Runtime: with ``settings.sentiment.runtime == "onnx-int8"`` (the default) whichever model was
chosen is exported once to ONNX int8 (see :mod:`nlp.sentiment.onnx`) and scored there; if the
export fails the log says why and the torch FP32 model is used instead. ``"torch"`` always
uses torch FP32.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from core.settings import Settings
from nlp.sentiment.base import SentimentModel
from nlp.sentiment.data import SEED_DATA, DataError, LabelledData, load_labelled
from nlp.sentiment.hf import HubSentimentModel, LocalSentimentModel, ModelLoadError
from nlp.sentiment.train import TrainConfig, TrainResult, train_model

log = logging.getLogger(__name__)

POINTER = "CURRENT"
_TRUTHY = {"1", "on", "yes", "true"}


def models_root(settings: Settings) -> Path:
    return settings.data_dir / "models" / "sentiment"


def onnx_cache_root(settings: Settings) -> Path:
    """Where ONNX int8 exports of sentiment models are cached, one folder per model version."""
    return settings.data_dir / "models" / "sentiment-onnx"


def current_model_dir(settings: Settings) -> Path | None:
    """The model the project trained and chose earlier, if its folder is still complete."""
    pointer = models_root(settings) / POINTER
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = models_root(settings) / name
    if not name or "/" in name or not (path / "config.json").is_file():
        log.warning("%s names %r, which is not a saved model; ignoring it", pointer, name)
        return None
    return path


def set_current_model(settings: Settings, path: Path) -> None:
    """Point ``CURRENT`` at a model folder inside the models root (atomic replace)."""
    root = models_root(settings)
    path = path.resolve()
    if path.parent != root.resolve():
        raise ModelLoadError(f"{path} is not inside {root}; only models there can be current")
    tmp = root / f".{POINTER}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(path.name + "\n", encoding="utf-8")
    os.replace(tmp, root / POINTER)


def seed_train_config(settings: Settings) -> TrainConfig:
    """The recipe for the seed set: small data, so more epochs at a higher rate.

    About a minute on two free cores; what a fresh ``cryptosense run`` does before the API
    can answer. The stock ``[CLS]`` head here: on 400 texts it carried over to finance tweets
    better than the mean-pooled one (TFNS weighted F1 0.616 against 0.577, both 0.89 on the
    crypto check set; docs/sentiment.md), the opposite of what the full TFNS set shows.
    """
    s = settings.sentiment
    return TrainConfig(
        encoder=s.offline_encoder,
        epochs=6,
        lr=1e-4,
        batch_size=16,
        max_length=min(s.max_length, 48),
        val_frac=0.15,
        patience=3,
        threads=s.threads,
        pooling="cls",
    )


def data_train_config(settings: Settings) -> TrainConfig:
    """The plain recipe for a real labelled set such as Twitter Financial News.

    lr 1e-4 with the mean-pooled head: 0.866 held-out weighted F1 on TFNS for two seeds
    (docs/sentiment.md); one model, so it trains in the background in about 15 minutes.
    """
    s = settings.sentiment
    return TrainConfig(
        encoder=s.offline_encoder, lr=1e-4, max_length=s.max_length, threads=s.threads
    )


def offline_training_data(settings: Settings) -> LabelledData:
    """``settings.sentiment.train_data`` when set and present, else the seed set."""
    s = settings.sentiment
    if s.train_data is not None:
        if Path(s.train_data).expanduser().is_file():
            return load_labelled(
                s.train_data,
                text_col=s.train_text_col,
                label_col=s.train_label_col,
                label_map=s.train_label_map,
            )
        log.warning("sentiment.train_data %s does not exist; using the seed set", s.train_data)
    return load_labelled(SEED_DATA)


def train_current_model(
    settings: Settings,
    data: LabelledData,
    config: TrainConfig,
    *,
    progress: bool = True,
) -> TrainResult:
    """Train into the models root under the model's version and make it current."""
    root = models_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".train-{uuid.uuid4().hex[:8]}"
    result = train_model(data, config, staging, progress=progress)
    final = root / result.version
    if final.exists():  # identical weights trained before (same data, seed, threads)
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    set_current_model(settings, final)
    return dataclasses.replace(result, path=final)


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


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or value.endswith(os.sep)


def build_sentiment_model(
    settings: Settings,
    *,
    train_config: TrainConfig | None = None,
    progress: bool = True,
    hub_endpoint: str | None = None,
) -> SentimentModel:
    """The model the service should use now; trains the offline model if there is none.

    ``train_config`` overrides the recipe of step (d) (tests use a one-epoch recipe).
    """
    s = settings.sentiment
    options: dict[str, Any] = {
        "label_map": s.label_map or None,
        "max_length": s.max_length,
        "batch_size": s.batch_size,
        "threads": s.threads,
    }
    local = Path(s.model).expanduser()
    if local.is_dir():
        log.info("sentiment model: local directory %s", local)
        return _load_local(settings, local, options)
    if _looks_like_path(s.model):
        raise ModelLoadError(
            f"sentiment.model {s.model!r} looks like a folder but does not exist "
            "(env CRYPTOSENSE_SENTIMENT__MODEL)"
        )
    current = current_model_dir(settings)
    if current is not None:
        log.info("sentiment model: the project's trained model %s", current.name)
        return _load_local(settings, current, {**options, "label_map": None})
    if hub_offline():
        reason = "HF_HUB_OFFLINE is set"
    else:
        try:
            commit = probe_hub(s.model, s.hub_timeout_s, endpoint=hub_endpoint)
            log.info("sentiment model: %s@%s from the hub", s.model, commit)
            return _load_hub(settings, s.model, commit, options)
        except ModelLoadError as err:
            reason = str(err)
    return _train_offline(settings, reason, train_config, progress, options)


def _train_offline(
    settings: Settings,
    reason: str,
    train_config: TrainConfig | None,
    progress: bool,
    options: dict[str, Any],
) -> SentimentModel:
    from filelock import FileLock

    root = models_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".train.lock")):
        current = current_model_dir(settings)  # another process may have trained meanwhile
        if current is None:
            try:
                data = offline_training_data(settings)
            except DataError as err:
                raise ModelLoadError(f"sentiment.train_data cannot be used: {err}") from err
            config = train_config or (
                seed_train_config(settings)
                if data.source == SEED_DATA.name
                else data_train_config(settings)
            )
            log.warning(
                "the model hub is unreachable for %r (%s): training the offline sentiment "
                "model now from %s (%d texts, %d epochs); this happens once",
                settings.sentiment.model,
                reason,
                data.source,
                len(data),
                config.epochs,
            )
            started = time.perf_counter()
            result = train_current_model(settings, data, config, progress=progress)
            log.warning(
                "offline sentiment model %s ready in %.0f s (validation weighted F1 %.3f)",
                result.version,
                time.perf_counter() - started,
                result.validation["weighted_f1"],
            )
            current = result.path
    # The project's models name their labels canonically; the hub label map does not apply.
    return _load_local(settings, current, {**options, "label_map": None})


def _load_local(settings: Settings, path: Path, options: dict[str, Any]) -> SentimentModel:
    """A local model directory on the configured runtime (torch when the export fails)."""
    if settings.sentiment.runtime == "onnx-int8":
        from nlp.sentiment.onnx import OnnxSentimentModel

        try:
            return OnnxSentimentModel.from_directory(
                path, onnx_cache_root(settings), **_onnx_options(settings, options)
            )
        except (ModelLoadError, ImportError) as err:
            _log_torch_fallback(str(path), err)
    return LocalSentimentModel.load(path, **options)


def _load_hub(
    settings: Settings, model_id: str, commit: str, options: dict[str, Any]
) -> SentimentModel:
    """A hub model pinned to ``commit`` on the configured runtime (torch when export fails)."""
    if settings.sentiment.runtime == "onnx-int8":
        from nlp.sentiment.onnx import OnnxSentimentModel

        try:
            return OnnxSentimentModel.from_hub(
                model_id, commit, onnx_cache_root(settings), **_onnx_options(settings, options)
            )
        except (ModelLoadError, ImportError) as err:
            _log_torch_fallback(f"{model_id}@{commit}", err)
    return HubSentimentModel.load(model_id, revision=commit, **options)


def _onnx_options(settings: Settings, options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "batch_size": settings.sentiment.onnx_batch_size}


def _log_torch_fallback(model: str, err: Exception) -> None:
    log.warning(
        "sentiment runtime onnx-int8 is not available for %s (%s); using torch FP32 instead "
        "(set CRYPTOSENSE_SENTIMENT__RUNTIME=torch to skip the attempt)",
        model,
        err,
    )
