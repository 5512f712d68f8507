from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.records import Document, content_hash, document_id
from core.urls import canonical_url
from tests.factories import doc


def test_document_id_is_uuid5_of_canonical_url_and_stable_across_runs() -> None:
    a = document_id(url="https://News.Example.com/a/story/?utm_source=x&id=3#top")
    b = document_id(url="http://www.news.example.com/a/story?id=3&fbclid=abc")
    assert a == b
    assert a == document_id(url="https://news.example.com/a/story?id=3")


def test_document_id_without_url_uses_source_and_source_id() -> None:
    assert document_id(source="reddit", source_id="t3_abc") == document_id(
        source="reddit", source_id="t3_abc"
    )
    with pytest.raises(ValueError, match="needs a URL"):
        document_id()


def test_canonical_url_keeps_meaningful_query_and_drops_tracking() -> None:
    assert (
        canonical_url("HTTPS://Example.com:443/x/?b=2&utm_medium=rss&a=1")
        == "https://example.com/x?a=1&b=2"
    )


def test_content_hash_ignores_whitespace_and_case() -> None:
    assert content_hash("Bitcoin  Rallies", "text\n here") == content_hash(
        "bitcoin rallies", " text here "
    )


def test_documents_are_frozen_and_times_are_utc() -> None:
    d = doc()
    with pytest.raises(ValidationError):
        d.title = "changed"  # type: ignore[misc]
    naive = Document.build(
        source="s",
        url="https://x.org/1",
        title="t",
        text="x",
        published_at=datetime(2024, 1, 1),  # noqa: DTZ001 - naive on purpose
        ingested_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert naive.published_at.tzinfo is UTC
