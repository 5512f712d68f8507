"""One Reddit thing, one document: the live collector (real praw against recorded responses
served from 127.0.0.1) and the dump importer (the same JSON written as a Pushshift-style dump)
read each submission and comment through :mod:`collectors.parsers.reddit`, so they give the
identical document: same id, text, author, times, assets, language, metadata.

What each path adds on purpose is set aside before comparing, and checked on its own: the
importer's audit stamp (:data:`BACKFILL_KEYS`), ``ingested_at`` (live: when it was polled;
archive: the thing's own time), and, for a comment naming no asset, the assets of its post,
which only the live path knows (a dump line carries no post).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.assets import AssetTagger
from collectors.importers.archive import BACKFILL_KEYS, ArchiveSpec
from collectors.importers.archive.fields import Columns
from collectors.importers.archive.rows import RowParser, Rows
from collectors.live.reddit import RedditCollector
from collectors.parsers.reddit import GONE_MARKERS, RedditThingError, reddit_document
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from core.records import Document
from core.settings import Settings
from tests.collectors.reddit_replay import RedditReplay, replay, replay_settings

DATA = Path(__file__).resolve().parents[2] / "data" / "reddit"
RECORDING = DATA / "cryptocurrency_poll.json"
FIXED = datetime(2030, 1, 1, tzinfo=UTC)
REMOVED_POST = "t3_1bcpwr2"
GONE_COMMENTS = {"t1_kuf2z9c", "t1_kuezt2b"}  # [deleted], [removed]


def recorded_things(path: Path) -> list[dict[str, Any]]:
    """Every submission and comment in a recording's answers, once each, in order."""
    things: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, Mapping) and node.get("kind") == "Listing":
            for child in node["data"]["children"]:
                if child["kind"] in ("t1", "t3"):
                    things.setdefault(child["data"]["name"], child["data"])

    for interaction in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        body = interaction["response"]["body"]["string"]
        if interaction["request"]["method"] == "GET" and body.startswith(("{", "[")):
            walk(json.loads(body))
    return list(things.values())


@pytest.fixture
def cc_replay(settings: Settings) -> Iterator[RedditReplay]:
    del settings  # clears CRYPTOSENSE_* from the environment
    with replay(RECORDING) as rr:
        yield rr


def live_documents(rr: RedditReplay, data_dir: Path) -> dict[str, Document]:
    settings = replay_settings(rr, data_dir)
    [collector] = build_source("reddit", settings, CollectOptions(subreddit="CryptoCurrency"))
    assert isinstance(collector, RedditCollector)
    result = collector.collect({})
    assert result.warnings == ()
    return {d.id: d for d in result.documents}


def archive_documents(things: list[dict[str, Any]], path: Path) -> tuple[dict[str, Document], int]:
    """The importer's documents for a dump of ``things`` (what ``backfill`` stores), and how
    many rows it skipped without a warning (deleted and removed things)."""
    path.write_text("".join(json.dumps(t) + "\n" for t in things), encoding="utf-8")
    spec = ArchiveSpec(path=path, format="reddit")
    parser = RowParser(spec, AssetTagger(), FIXED, Columns.resolve(spec, None))
    rows = Rows(spec, parser, 0, 0)
    try:
        parsed = list(rows)
    finally:
        rows.close()
    assert [r.warning for r in parsed if r.warning is not None] == []
    docs = {r.document.id: r.document for r in parsed if r.document is not None}
    return docs, sum(1 for r in parsed if r.document is None)


def without_path_additions(doc: Document) -> Document:
    meta = {k: v for k, v in doc.metadata.items() if k not in BACKFILL_KEYS}
    return doc.model_copy(update={"ingested_at": FIXED, "metadata": meta})


def test_live_poll_and_dump_import_give_identical_documents(
    cc_replay: RedditReplay, tmp_path: Path
) -> None:
    live = live_documents(cc_replay, tmp_path / "var")
    things = recorded_things(RECORDING)
    archived, skipped = archive_documents(things, tmp_path / "RS_cryptocurrency.jsonl")

    assert set(archived) == set(live)  # same ids, the same things skipped
    assert skipped == 1 + len(GONE_COMMENTS)
    tagger = AssetTagger()
    inherited = 0
    for doc_id, live_doc in live.items():
        expected = live_doc.model_copy(update={"ingested_at": FIXED})
        if live_doc.metadata["is_comment"] and not tagger.tag(live_doc.text):
            inherited += 1
            expected = expected.model_copy(update={"assets": ()})
        assert without_path_additions(archived[doc_id]) == expected, live_doc.source_id
    assert inherited > 0  # the recording holds comments that name no asset


def test_archive_adds_its_audit_stamp_and_the_things_own_time(
    cc_replay: RedditReplay, tmp_path: Path
) -> None:
    live = live_documents(cc_replay, tmp_path / "var")
    archived, _ = archive_documents(recorded_things(RECORDING), tmp_path / "dump.jsonl")

    for doc_id, doc in archived.items():
        assert doc.ingested_at == doc.published_at == live[doc_id].published_at
        assert set(doc.metadata) - set(live[doc_id].metadata) == set(BACKFILL_KEYS)
        assert doc.metadata["backfill"] is True and doc.metadata["format"] == "reddit"


@pytest.mark.parametrize("marker", sorted(GONE_MARKERS))
@pytest.mark.parametrize("kind", ["submission", "comment"])
def test_deleted_and_removed_things_are_skipped_by_both_paths_alike(
    tmp_path: Path, kind: str, marker: str
) -> None:
    things = {t["name"]: t for t in recorded_things(RECORDING)}
    base = things["t3_1bcq7xa"] if kind == "submission" else things["t1_kuf3a1b"]
    body = "selftext" if kind == "submission" else "body"
    gone = {**base, body: marker, f"{body}_html": None}
    removed = {**base, "removed_by_category": "moderator"}

    for thing in (gone, removed):
        assert (
            reddit_document(thing, source="reddit:x", ingested_at=FIXED, tagger=AssetTagger())
            is None
        )
    archived, skipped = archive_documents([gone, removed], tmp_path / f"{kind}.jsonl")
    assert (archived, skipped) == ({}, 2)


def test_recorded_removed_post_and_gone_comments_are_skipped(
    cc_replay: RedditReplay, tmp_path: Path
) -> None:
    live_ids = {d.source_id for d in live_documents(cc_replay, tmp_path / "var").values()}
    archived, _ = archive_documents(recorded_things(RECORDING), tmp_path / "dump.jsonl")
    archived_ids = {d.source_id for d in archived.values()}

    for gone in (REMOVED_POST, *GONE_COMMENTS):
        assert gone not in live_ids and gone not in archived_ids


def test_gone_author_is_no_author_and_a_thing_without_time_is_refused() -> None:
    thing = {
        "name": "t1_abc",
        "id": "abc",
        "body": "ETH gas is cheap today, finally.",
        "author": "[deleted by user]",
        "created_utc": 1_710_230_000,
        "link_id": "t3_xyz",
    }
    doc = reddit_document(thing, source="reddit:x", ingested_at=FIXED, tagger=AssetTagger())
    assert doc is not None and doc.author is None
    assert doc.url == "https://www.reddit.com/comments/xyz/_/abc"
    with pytest.raises(RedditThingError) as err:
        reddit_document(
            {**thing, "created_utc": None, "created": 1_710_230_000},
            source="reddit:x",
            ingested_at=FIXED,
            tagger=AssetTagger(),
        )
    assert err.value.reason == "bad-date"
