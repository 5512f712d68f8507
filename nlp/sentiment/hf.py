"""Transformers sequence classifiers as sentiment models: hub ids and local directories.

Both implementations share one inference path that is fast on CPU without changing results:
texts are tokenised once, sorted by length, and each batch is padded only to its own longest
member (padding short tweets to 128 tokens made inference several times slower), under
``torch.inference_mode`` with one thread per idle core (see :func:`idle_cores`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment.base import column_order, softmax
from nlp.sentiment.card import CARD_JSON, CardError, read_card

log = logging.getLogger(__name__)

WEIGHT_FILES: tuple[str, ...] = ("model.safetensors", "pytorch_model.bin")


class ModelLoadError(RuntimeError):
    """A model could not be loaded (missing directory, not a classifier, unreachable hub)."""


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def directory_version(path: Path) -> str:
    """``<name>-<12 hex>`` where the hex digests the weights and the config.

    The name comes from the model card (``minilm-tfns``) or the directory name. Any change to
    the weights or the label configuration gives a new version, so old scores and cache
    entries are never attributed to the new model.
    """
    digest = hashlib.sha256()
    weights = [path / name for name in WEIGHT_FILES if (path / name).is_file()]
    if not weights:
        raise ModelLoadError(f"{path} has no weights file ({' or '.join(WEIGHT_FILES)})")
    for file in [*weights, path / "config.json"]:
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    name = path.name
    if (path / CARD_JSON).is_file():
        try:
            name = read_card(path).name or name
        except CardError as err:
            log.warning("ignoring unreadable model card: %s", err)
    return f"{name}-{digest.hexdigest()[:12]}"


def idle_cores() -> int:
    """Cores not already kept busy by other work: available cores minus the 1-minute load.

    torch's worker threads spin while they wait for each other, so running more threads than
    there are free cores is not a little slower but several times slower (measured on a
    2-core machine shared with other jobs: 6 s per training step with 2 threads, 0.5 s with
    1). On an idle machine this is every available core.
    """
    cores = available_cores()
    try:
        busy = os.getloadavg()[0]
    except OSError:  # not available on this platform
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def set_threads(threads: int | None) -> int:
    """Give torch ``threads`` threads (default: the idle cores); returns the count."""
    import torch

    count = threads or idle_cores()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    log.debug("torch uses %d threads", count)
    return count


class TransformersSentimentModel:
    """Shared inference for any Hugging Face sequence classifier with three sentiment labels."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        version: str,
        *,
        label_map: Mapping[str, str] | None = None,
        max_length: int = 64,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import torch

        self._torch = torch
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._version = version
        id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
        self.columns = column_order(id2label, label_map)
        limit = getattr(tokenizer, "model_max_length", None) or max_length
        self.max_length = int(min(max_length, limit))
        self.batch_size = batch_size
        set_threads(threads)

    @property
    def version(self) -> str:
        return self._version

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (negative, neutral, positive) per text, in the order given."""
        if len(texts) == 0:
            return np.zeros((0, 3), dtype=np.float64)
        encoded = self.tokenizer(
            [str(t) for t in texts], truncation=True, max_length=self.max_length, padding=False
        )
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        out = np.empty((len(texts), 3), dtype=np.float64)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        with self._torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                features = {k: [encoded[k][i] for i in idx] for k in keys}
                batch = self.tokenizer.pad(features, padding="longest", return_tensors="pt")
                logits = self.model(**batch).logits.float().numpy()
                out[idx] = softmax(logits)[:, self.columns]
        return out


def _load_pretrained(source: str, **kwargs: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import nlp.sentiment.architecture  # noqa: F401 - registers the project's own classifier

    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
    return model, tokenizer


def resolve_commit(model_id: str, revision: str | None = None) -> str:
    """The commit sha behind ``revision`` (default: main), from the hub or else its cache."""
    if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    from huggingface_hub import HfApi, try_to_load_from_cache

    try:
        sha = HfApi().model_info(model_id, revision=revision).sha
        if sha:
            return str(sha)
    except Exception as err:  # unreachable hub: a cached snapshot still names its commit
        log.info("hub lookup of %s failed (%s); trying the local hub cache", model_id, err)
    cached = try_to_load_from_cache(model_id, "config.json", revision=revision)
    if isinstance(cached, str):
        return Path(cached).parent.name
    raise ModelLoadError(f"{model_id!r} is neither reachable on the hub nor in its local cache")


class HubSentimentModel(TransformersSentimentModel):
    """A classifier from the Hugging Face hub by id, e.g. ``ProsusAI/finbert``."""

    @classmethod
    def load(
        cls,
        model_id: str,
        *,
        revision: str | None = None,
        label_map: Mapping[str, str] | None = None,
        max_length: int = 64,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> HubSentimentModel:
        """Download (or reuse the hub cache) the weights of one resolved commit.

        The version names that commit, so a model updated on the hub gets a new version and
        its scores never mix with the old one's.
        """
        commit = resolve_commit(model_id, revision)
        try:
            model, tokenizer = _load_pretrained(model_id, revision=commit)
        except Exception as err:  # network, HTTP and format errors all mean "not this model"
            raise ModelLoadError(f"cannot load {model_id!r} from the hub: {err}") from err
        return cls(
            model,
            tokenizer,
            f"{model_id}@{commit}",
            label_map=label_map,
            max_length=max_length,
            batch_size=batch_size,
            threads=threads,
        )


class LocalSentimentModel(TransformersSentimentModel):
    """A classifier saved in a local directory (by ``cryptosense nlp train`` or anyone)."""

    path: Path

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        label_map: Mapping[str, str] | None = None,
        max_length: int = 64,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> LocalSentimentModel:
        directory = Path(path).expanduser()
        if not (directory / "config.json").is_file():
            raise ModelLoadError(f"{directory} is not a model directory (no config.json)")
        version = directory_version(directory)
        try:
            model, tokenizer = _load_pretrained(str(directory), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot load the model in {directory}: {err}") from err
        instance = cls(
            model,
            tokenizer,
            version,
            label_map=label_map,
            max_length=max_length,
            batch_size=batch_size,
            threads=threads,
        )
        instance.path = directory
        return instance
