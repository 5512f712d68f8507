"""Indexing stored documents into the vector store, and the ``embed`` and ``search``
commands over it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.records import Document, Label, SentimentScore
from core.settings import Settings
from core.store import Store, build_store
from cryptosense.cli import main
from nlp.vectors.base import VectorStoreError, from_epoch
from nlp.vectors.edge import QdrantEdgeStore
from nlp.vectors.indexing import index_documents
from tests.factories import T0
from tests.nlp.fakes import BagOfWordsEmbedder
from tests.nlp.vectors.support import DIM, make_doc

# --- indexing stored documents --------------------------------------------------------------


def _score(document_id: str, p_pos: float, version: str = "sent-v1") -> SentimentScore:
    return SentimentScore(
        document_id=document_id,
        model_version=version,
        label=Label.POSITIVE if p_pos > 0.5 else Label.NEUTRAL,
        p_negative=0.1,
        p_neutral=0.9 - p_pos,
        p_positive=p_pos,
        scored_at=T0 + timedelta(hours=1),
    )


def test_store_documents_page_walks_every_document_once_with_assets(store: Store) -> None:
    docs = [make_doc(f"pg{i}", published_min=i % 3, assets=("BTC", "ETH")) for i in range(7)]
    store.documents.add(docs)
    seen: list[Document] = []
    after = None
    while page := store.documents.page(after, limit=3):
        seen.extend(page)
        after = (page[-1].ingested_at, page[-1].id)
    assert sorted(d.id for d in seen) == sorted(d.id for d in docs)
    assert all(d.assets == ("BTC", "ETH") for d in seen)


def test_index_documents_embeds_each_document_once_with_its_sentiment(
    sqlite_store: Store, tmp_path: Path
) -> None:
    docs = [
        make_doc("etf", title="Bitcoin ETF inflows hit a record"),
        make_doc("gas", title="Ethereum gas fees fall", assets=("ETH",)),
        make_doc("sol", title="Solana outage halts blocks", assets=("SOL",)),
    ]
    sqlite_store.documents.add(docs)
    sqlite_store.scores.add([_score(docs[0].id, 0.8)])
    embedder = BagOfWordsEmbedder()
    with QdrantEdgeStore(tmp_path / "shard", embedder.dim) as vs:
        first = index_documents(sqlite_store, embedder, vs, "sent-v1", page_size=2)
        assert (first.embedded, first.seen, first.refreshed) == (3, 3, 0)
        payload = vs.retrieve([docs[0].id])[0].payload
        assert payload["sentiment"] == pytest.approx(0.7)
        assert payload["label"] == "positive"
        assert payload["embedder"] == "bag-of-words/test"
        assert from_epoch(payload["ingested_at"]) == docs[0].ingested_at
        assert vs.retrieve([docs[1].id])[0].payload["sentiment"] is None

        sqlite_store.scores.add([_score(docs[1].id, 0.2)])
        again = index_documents(sqlite_store, embedder, vs, "sent-v1")
        assert (again.embedded, again.refreshed) == (0, 1)
        assert vs.retrieve([docs[1].id])[0].payload["label"] == "neutral"
        assert vs.count() == 3
        assert sum(embedder.calls) == 3  # nothing was embedded twice


def test_index_documents_respects_limit_and_skips_documents_without_text(
    sqlite_store: Store, tmp_path: Path
) -> None:
    empty = Document.build(
        source="rss:alpha",
        url="https://news.example.com/empty",
        title="   ",
        text="",
        published_at=T0,
        ingested_at=T0,
    )
    docs = [make_doc(f"l{i}", published_min=i) for i in range(5)]
    sqlite_store.documents.add([empty, *docs])
    embedder = BagOfWordsEmbedder()
    with QdrantEdgeStore(tmp_path / "shard", embedder.dim) as vs:
        limited = index_documents(sqlite_store, embedder, vs, None, limit=2, page_size=10)
        assert (limited.embedded, limited.skipped_empty) == (2, 1)
        rest = index_documents(sqlite_store, embedder, vs, None)
        assert rest.embedded == 3
        assert rest.skipped_empty == 1
        assert vs.count() == 5


def test_index_documents_refuses_an_embedder_of_another_dimension(
    sqlite_store: Store, tmp_path: Path
) -> None:
    with (
        QdrantEdgeStore(tmp_path / "shard", DIM) as vs,
        pytest.raises(VectorStoreError, match="64-d vectors"),
    ):
        index_documents(sqlite_store, BagOfWordsEmbedder(), vs, None)


# --- command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    return settings


def test_search_with_a_window_that_ends_before_it_starts_exits_2_with_a_message(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "etf", "--since", "2024-03-02", "--until", "2024-03-01"])
    assert code == 2
    assert "--until must not be before --since" in capsys.readouterr().err


def test_search_with_an_unparseable_time_exits_2_without_a_traceback(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "etf", "--asof", "yesterday-ish"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 date or time" in capsys.readouterr().err


def test_search_refuses_a_bare_number_as_a_time(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "etf", "--since", "20210101"])
    assert exit_info.value.code == 2
    assert "is a number, not a time" in capsys.readouterr().err


def test_embed_with_an_unknown_sentiment_model_exits_2_naming_the_stored_ones(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["embed", "--model-version", "nope"])
    assert code == 2
    assert "no scores from model version 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_then_search_prints_stories_as_json_lines(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end on the real int8 encoder: stored documents -> embed -> search."""
    store = build_store(cli_env.db, cli_env.paths)
    etf = "Spot bitcoin ETF inflows hit a record as BTC rallies past resistance"
    store.documents.add(
        [
            make_doc("etf", title=etf),
            make_doc("etf-copy", title=etf + " - wire", source="rss:beta", published_min=20),
            make_doc("gas", title="Ethereum gas fees drop after the upgrade", assets=("ETH",)),
            make_doc("dog", title="Local dog show draws a record crowd", assets=()),
        ]
    )
    store.close()
    assert main(["embed"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["embedded"] == 4 and summary["total"] == 4
    assert main(["search", "bitcoin ETF inflows", "--limit", "3"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["title"] == etf
    assert lines[0]["duplicates"] == 1
    assert lines[0]["published_at"] == T0.isoformat()
    assert main(["search", "bitcoin ETF inflows", "--asset", "ETH"]) == 0
    only_eth = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["assets"] for x in only_eth] == [["ETH"]]
