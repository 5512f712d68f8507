"""Scoring stored documents: idempotent, and identical text never goes through the model
twice for one model version (the cache lives in the store, so it survives restarts)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from core.records import Label
from core.settings import Settings
from core.store import Store, build_store
from nlp.scoring import ScoringStats, score_pending, text_key
from nlp.sentiment.base import SentimentModel
from nlp.sentiment.train import TrainResult
from tests.factories import doc


class CountingModel:
    """Plumbing stand-in for a model: fixed probabilities per text, and a record of what it
    was asked to score. The real model is exercised by the slow test below."""

    def __init__(self, version: str = "fixed@1") -> None:
        self.version = version
        self.seen: list[str] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = []
        for t in texts:
            h = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            raw = np.array([1 + h % 7, 1 + h % 5, 1 + h % 3], dtype=float)
            rows.append(raw / raw.sum())
        return np.array(rows).reshape(len(texts), 3)


def test_counting_model_satisfies_the_protocol() -> None:
    assert isinstance(CountingModel(), SentimentModel)


def test_scoring_twice_scores_each_document_once(store: Store) -> None:
    docs = [
        doc(f"https://n.example/{i}", title=f"Story number {i} about bitcoin") for i in range(5)
    ]
    store.documents.add(docs)
    model = CountingModel()
    assert score_pending(store, model, batch_size=2) == 5
    assert score_pending(store, model, batch_size=2) == 0
    assert len(model.seen) == 5
    score = store.scores.get(docs[0].id, model.version)
    assert score is not None and score.model_version == "fixed@1"
    assert score.p_negative + score.p_neutral + score.p_positive == pytest.approx(1.0)
    assert score.label in set(Label)


def test_identical_text_in_two_documents_goes_through_the_model_once(store: Store) -> None:
    title = "Bitcoin ETF inflows hit a record"
    text = "Spot funds took in $1 billion on Monday."
    a = doc("https://a.example/story", title=title, text=text, source="rss:a")
    # a syndicated copy with the whole story in its title, in capitals: a different
    # document (other content hash), but the same normalised text for the model
    b = doc("https://b.example/x", title=f"  {title.upper()}.  {text}", text="", source="rss:b")
    c = doc("https://c.example/other", title="Ether slips", text="Gas fees fall.", minutes=1)
    store.documents.add([a])
    store.documents.add([c])
    stats = ScoringStats()
    model = CountingModel()
    score_pending(store, model, stats=stats)
    store.documents.add([b])  # arrives later; the cache must remember across runs
    score_pending(store, model, stats=stats)
    assert text_key(a.body) == text_key(b.body)
    assert stats.scored == 3 and stats.predicted == 2 and stats.cache_hits == 1
    sa, sb = store.scores.get(a.id, model.version), store.scores.get(b.id, model.version)
    assert sa is not None and sb is not None
    assert (sa.p_negative, sa.p_positive) == (sb.p_negative, sb.p_positive)


def test_a_new_model_version_scores_everything_again_and_keeps_its_own_cache(
    store: Store,
) -> None:
    store.documents.add([doc("https://n.example/1"), doc("https://n.example/2", title="Other")])
    old, new = CountingModel("fixed@1"), CountingModel("fixed@2")
    assert score_pending(store, old) == 2
    assert score_pending(store, new) == 2
    assert len(new.seen) == 2
    assert set(store.scores.versions()) == {"fixed@1", "fixed@2"}


def test_limit_caps_the_number_of_documents_scored(store: Store) -> None:
    store.documents.add([doc(f"https://n.example/{i}", title=f"Headline {i}") for i in range(7)])
    model = CountingModel()
    assert score_pending(store, model, batch_size=3, limit=4) == 4
    assert score_pending(store, model, batch_size=3, limit=None) == 3


@pytest.mark.slow
def test_real_model_scores_stored_documents_and_never_twice(
    sqlite_store: Store, trained_sentiment: TrainResult
) -> None:
    from nlp.sentiment.hf import LocalSentimentModel

    model = LocalSentimentModel.load(trained_sentiment.path, max_length=32, threads=1)
    bull = doc(
        "https://n.example/bull",
        title="Bitcoin smashes to a new all-time high as ETF inflows surge",
        text="",
    )
    bear = doc(
        "https://n.example/bear",
        title="Crypto exchange hacked and halts withdrawals as token crashes 60%",
        text="",
    )
    sqlite_store.documents.add([bull, bear])
    assert score_pending(sqlite_store, model) == 2
    assert score_pending(sqlite_store, model) == 0
    sb = sqlite_store.scores.get(bull.id, model.version)
    sr = sqlite_store.scores.get(bear.id, model.version)
    assert sb is not None and sr is not None and sb.score > sr.score


@pytest.mark.slow
def test_score_command_scores_with_the_configured_model_and_prints_a_summary(
    settings: Settings,
    trained_sentiment: TrainResult,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cryptosense.cli import main

    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CRYPTOSENSE_SENTIMENT__MODEL", str(trained_sentiment.path))
    monkeypatch.setenv("CRYPTOSENSE_SENTIMENT__THREADS", "1")
    store = build_store(settings.db, settings.paths)
    store.documents.add([doc(f"https://n.example/{i}", title=f"Headline {i}") for i in range(3)])
    store.close()
    assert main(["-q", "score", "--limit", "2"]) == 0
    assert main(["-q", "score"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"scored 2 documents with {trained_sentiment.version}")
    assert out[1].startswith("scored 1 documents")
