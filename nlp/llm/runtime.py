"""Loading a GGUF model with llama-cpp-python, and reading next-token scores from it.

llama-cpp-python is installed by ``scripts/setup.sh`` with a portable build (the default
build detects AVX-512/AMX on these CPUs and crashes in ``llama_decode``), so it is not a
plain dependency in ``pyproject.toml`` and may be missing on a machine set up another way:
then :class:`~nlp.llm.packaged.LlmUnavailable` says how to install it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock

from nlp.llm.packaged import LlmUnavailable, assemble, default_path, is_assembled

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "llama-cpp-python is not installed; run scripts/setup.sh (it builds the portable "
    "version these CPUs need)"
)


def resolve_model_path(model_path: Path | None) -> Path:
    """``model_path`` when given (it must exist), else the packaged model, assembled on
    first use if the set-up did not do it yet."""
    if model_path is not None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LlmUnavailable(f"the LLM file {path} does not exist (agent.model_path)")
        return path
    path = default_path()
    if not is_assembled(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path.with_suffix(".lock"))):
            assemble(path)
    return path


def default_threads() -> int:
    """One thread per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def load_llama(
    model_path: Path | None = None,
    *,
    n_ctx: int = 4096,
    threads: int | None = None,
    n_batch: int = 256,
    seed: int = 13,
    threads_batch: int | None = None,
) -> Llama:
    """A ``llama_cpp.Llama`` on CPU, quiet, with a fixed seed. ``threads`` generate,
    ``threads_batch`` read the prompt (default: as many as ``threads``); on cores shared
    with other work one generating thread is several times faster than two."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise LlmUnavailable(INSTALL_HINT) from None
    path = resolve_model_path(model_path)
    n_threads = threads or default_threads()
    log.info("loading %s (n_ctx %d, %d threads)", path.name, n_ctx, n_threads)
    return Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=threads_batch or n_threads,
        n_batch=n_batch,
        seed=seed,
        verbose=False,
    )


def extend_and_score(llm: Llama, tokens: Sequence[int]) -> np.ndarray[Any, Any]:
    """Evaluate ``tokens`` reusing the longest prefix already in the KV cache, and return the
    logits of the next token after them.

    A fixed instruction prefix is therefore evaluated once; each later call pays only for
    its own suffix (what decides the speed of labelling thousands of short texts).
    """
    from llama_cpp import Llama as _Llama
    from llama_cpp import llama_get_logits_ith

    if not tokens:
        raise ValueError("nothing to evaluate")
    cached = llm.input_ids[: llm.n_tokens].tolist()
    keep = min(_Llama.longest_token_prefix(cached, tokens), len(tokens) - 1)
    llm.n_tokens = keep
    llm.eval(tokens[keep:])
    logits = llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).copy()
