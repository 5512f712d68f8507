"""``cryptosense run`` makes yesterday's briefing once per day."""

from __future__ import annotations

from datetime import timedelta

from core.settings import Settings
from core.store import Store
from core.times import utcnow
from cryptosense.service import Pipeline, PipelineStatus


def test_pipeline_briefs_yesterday_once(agent_store: Store, settings: Settings) -> None:
    pipeline = Pipeline(settings, agent_store, [], PipelineStatus())
    assert pipeline._brief() == 1
    assert pipeline._brief() == 0
    stored = agent_store.briefings.list()
    assert [m.day for m in stored] == [(utcnow() - timedelta(days=1)).date()]
