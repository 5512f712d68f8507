"""The local admin key that the first ``cryptosense run`` (or ``serve``) creates, so a new
user can call the API at once: written to ``<data dir>/admin.key``, readable by its owner
only, and its path printed."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.paths import DataPaths
    from core.store import Store

log = logging.getLogger(__name__)

FILE_NAME = "admin.key"


def admin_key_path(paths: DataPaths) -> Path:
    return paths.root / FILE_NAME


def ensure_admin_key(store: Store, paths: DataPaths) -> tuple[Path, bool]:
    """Create an admin key when the store has no active one, writing it (mode 0600) to
    :func:`admin_key_path`. Returns the path and whether a key was created now."""
    path = admin_key_path(paths)
    if store.keys.has_active_admin():
        return path, False
    record, key = store.keys.create(("admin",), name="local admin (first start)")
    paths.ensure()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    log.info("created admin API key %s", record.id)
    return path, True


def announce_admin_key(store: Store, paths: DataPaths) -> None:
    """Make the admin key if needed and say where it is (stdout: the user needs it now)."""
    path, created = ensure_admin_key(store, paths)
    if created:
        print(f"Created an admin API key: {path} (send it as 'Authorization: Bearer <key>')")
    elif path.exists():
        print(f"Admin API key: {path}")
    else:
        print(
            "An admin API key exists (cryptosense keys list); create another with "
            "`cryptosense keys create --scopes admin`"
        )
