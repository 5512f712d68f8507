"""A short-lived cache of whole answers, for the hot reads (``/v1/sentiment``).

An answer is kept for ``api.cache_s`` seconds under its route, parameters and the index
version (the newest event in the event log: the pipeline publishes one whenever an asset's
newest point changes), so a published update is served at once and otherwise an answer is
at most ``cache_s`` old. A cached answer skips everything but the key check: the database,
the index computation and the JSON encoding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable


class AnswerCache:
    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        if self.ttl_s <= 0:
            return None
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: Hashable, body: bytes) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_s, body)
