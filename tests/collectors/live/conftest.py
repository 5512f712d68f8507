"""Fixtures of the live-poller tests: settings pointing Reddit at a replay, and the
recorded r/CryptoCurrency poll served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.collectors.live.reddit_support import DATA, MakeSettings
from tests.collectors.reddit_replay import RedditReplay, replay, replay_settings


@pytest.fixture
def make_settings(settings: Settings, tmp_path: Path) -> MakeSettings:
    """Settings pointing every Reddit endpoint at a replay (``settings`` cleared the env)."""
    del settings

    def make(rr: RedditReplay, http: dict[str, Any] | None = None, **reddit: Any) -> Settings:
        return replay_settings(rr, tmp_path / "var", http, **reddit)

    return make


@pytest.fixture
def cc_replay() -> Iterator[RedditReplay]:
    with replay(DATA / "cryptocurrency_poll.json") as rr:
        yield rr
