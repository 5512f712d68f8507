"""The answer cache: one computation for many callers, the old answer while one refresh
runs, failures not cached, and off when ``cache_s`` is 0."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.answers import AnswerCache
from api.deps import recent


def test_many_callers_of_a_new_key_share_one_computation() -> None:
    calls = []

    def compute() -> bytes:
        calls.append(1)
        time.sleep(0.2)
        return b"answer"

    async def run() -> list[bytes]:
        cache = AnswerCache(1.0)
        return await asyncio.gather(*(cache.get("k", compute) for _ in range(20)))

    assert asyncio.run(run()) == [b"answer"] * 20
    assert len(calls) == 1


def test_an_expired_answer_is_served_while_one_refresh_runs() -> None:
    version = [0]
    release = threading.Event()

    def compute() -> bytes:
        if version[0]:
            release.wait(5)
        version[0] += 1
        return f"v{version[0]}".encode()

    async def run() -> tuple[list[bytes], bytes]:
        cache = AnswerCache(0.05)
        assert await cache.get("k", compute) == b"v1"
        await asyncio.sleep(0.1)  # expired
        stale = [await cache.get("k", compute) for _ in range(5)]  # no waiting on the refresh
        release.set()
        await asyncio.sleep(0.2)
        return stale, await cache.get("k", compute)

    stale, fresh = asyncio.run(run())
    assert stale == [b"v1"] * 5 and fresh == b"v2"


def test_failures_reach_the_caller_and_are_not_kept() -> None:
    attempts = []

    def compute() -> bytes:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database down")
        return b"ok"

    async def run() -> bytes:
        cache = AnswerCache(1.0)
        with pytest.raises(RuntimeError, match="database down"):
            await cache.get("k", compute)
        return await cache.get("k", compute)

    assert asyncio.run(run()) == b"ok"


def test_zero_ttl_computes_every_time() -> None:
    n = []

    async def run() -> None:
        cache = AnswerCache(0.0)
        for _ in range(3):
            await cache.get("k", lambda: n.append(1) or b"x")

    asyncio.run(run())
    assert len(n) == 3


def test_the_served_model_is_asked_at_most_once_per_cache_period() -> None:
    """Part of every answer's key, so the store is asked at most once per ``cache_s``."""
    asked = []

    def latest() -> str:
        asked.append(1)
        return f"model-{len(asked)}"

    version = recent(latest, 0.2)
    assert [version() for _ in range(50)] == ["model-1"] * 50
    time.sleep(0.25)
    assert version() == "model-2" and len(asked) == 2
    assert recent(latest, 0)() == "model-3"  # 0: every time
