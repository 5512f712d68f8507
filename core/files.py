"""Facts about files on disk that more than one part of the project needs."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (archives run to gigabytes).

    Importers key their saved progress by it, and training data is recorded by it, so a
    renamed file is still recognised and a changed one is not mistaken for the old.
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
