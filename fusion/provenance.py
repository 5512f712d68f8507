"""What a run stands on, recorded so that it can be repeated to the digit.

A manifest holds the settings and study choices, the asset, timeframe and data range, a
content hash of the input frames, the code version (the package version and a hash of the
fusion sources) with the versions of the numerical libraries that shape the numbers, and the
seed. Two runs with equal manifests give byte-identical cards (tests/fusion/test_study.py);
nothing in a card depends on the clock or the machine.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import fusion

LIBRARIES: tuple[str, ...] = (
    "xgboost-cpu",
    "TA-Lib",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "arch",
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def source_hash() -> str:
    """SHA-256 over the fusion package's Python files (relative path and bytes, sorted)."""
    root = Path(fusion.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def code_version() -> dict[str, Any]:
    return {
        "package": _version("cryptosense") or "unknown",
        "fusion_sha256": source_hash(),
        "libraries": {lib: _version(lib) for lib in LIBRARIES},
    }
