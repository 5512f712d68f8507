"""Schemathesis against the OpenAPI document: generated requests (valid and not) to every
operation, sent to a real server over a seeded store, find no 5xx, and every answer matches
its documented status, media type and schema. The endless streams are left out (their frames
are tested in test_streams)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import Services, create_app
from core.settings import Settings, load_settings
from core.store import Store
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.service import VectorSearch
from tests.api.live import MV, NOW, seed, serve_app
from tests.nlp.fakes import BagOfWordsEmbedder


def _document() -> dict[str, object]:
    """The OpenAPI document as the app publishes it (building it opens nothing)."""
    with tempfile.TemporaryDirectory() as tmp:
        return create_app(load_settings(data_dir=tmp)).openapi()


schema = schemathesis.openapi.from_dict(_document()).exclude(path_regex=r"/stream$")


@pytest.fixture
def live_api(
    settings: Settings, sqlite_store: Store, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server over a seeded store with its documents searchable, limits raised for
    the fuzzer, and an admin key."""
    seed(sqlite_store)
    embedder = BagOfWordsEmbedder()
    search = VectorSearch(
        settings.vector,
        settings.embeddings,
        settings.paths,
        embedder=embedder,
        vectors=QdrantEdgeStore(tmp_path / "shard", embedder.dim),
    )
    search.index(sqlite_store, MV)
    # Limits raised for the fuzzer; the agent's routes answer from the tools alone (no LLM
    # call: the fuzzer checks the HTTP contract, tests/api/test_chat.py the model's answers).
    generous = load_settings(
        data_dir=settings.data_dir,
        api={"rate_per_s": 100_000, "rate_burst": 100_000},
        agent={"max_llm_calls": 0},
    )
    services = Services(
        store=sqlite_store,
        model_version=sqlite_store.scores.latest_version,
        clock=lambda: NOW,
        search=search,
    )
    _, key = sqlite_store.keys.create("admin", name="schemathesis")
    try:
        with serve_app(create_app(generous, services=services)) as url:
            yield url, {"Authorization": f"Bearer {key}"}
    finally:
        search.close()


#: Operations whose schema-valid requests may rightly be refused: a query of symbols only is
#: text the encoder cannot search by; which assets are covered is data ("not covered", never a
#: guess); OpenAI's schema allows a conversation without a user message, which asks nothing.
_DATA_RULES = ("GET /v1/search", "POST /v1/query/", "POST /v1/chat/completions")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_as_documented(
    case: schemathesis.Case, live_api: tuple[str, dict[str, str]]
) -> None:
    url, key = live_api
    # Answers that depend on data or on rules a JSON schema cannot express: a documented 422
    # for a schema-valid request is right there, so positive acceptance is not checked.
    excluded = [positive_data_acceptance] if case.operation.label.startswith(_DATA_RULES) else []
    case.call_and_validate(base_url=url, headers=dict(key), excluded_checks=excluded)
