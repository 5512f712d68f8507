"""Semantic search over document vectors, and near-duplicate stories.

A story is one piece of news however many times it reached us: the original, its reposts
and its syndicated copies (same text lightly edited, a new headline, tracking links). The
store already merges exact copies by content hash; what is left are copies whose embeddings
sit at cosine >= a threshold (0.92 by default) from each other. :func:`search_stories`
collapses those into one result with a count and the member ids, represented by the
earliest-published member, and every step honours the same filters, so an as-of search
never counts a copy that arrived after the as-of time either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nlp.embeddings import Embedder
from nlp.vectors.base import SearchFilter, VectorHit, VectorStore, from_epoch

DEFAULT_THRESHOLD = 0.92


@dataclass(frozen=True)
class Story:
    """Search results that are copies of one story, collapsed.

    ``id`` and ``payload`` are the representative's (the earliest-published member); ``score``
    is the best cosine of any member to the query; ``member_ids`` lists every member, the
    representative first, then by publication time.
    """

    id: str
    score: float
    payload: dict[str, Any]
    member_ids: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.member_ids)

    @property
    def duplicates(self) -> int:
        """Copies besides the representative."""
        return len(self.member_ids) - 1


def story_fields(story: Story) -> dict[str, Any]:
    """What a search result shows (the CLI's JSON lines, the API's stories): the
    representative's citation fields, times as UTC datetimes, and its copies."""
    p = story.payload

    def when(key: str) -> Any:
        value = p.get(key)
        return from_epoch(value) if isinstance(value, int | float) else None

    return {
        "id": story.id,
        "score": round(story.score, 4),
        "title": p.get("title") or "",
        "url": p.get("url"),
        "assets": list(p.get("assets") or []),
        "source": p.get("source"),
        "published_at": when("published_at"),
        "ingested_at": when("ingested_at"),
        "sentiment": p.get("sentiment"),
        "label": p.get("label"),
        "duplicates": story.duplicates,
        "duplicate_ids": list(story.member_ids[1:]),
    }


class QueryError(ValueError):
    """A query there is nothing to search by: empty, or one the encoder maps to no direction."""


def embed_query(embedder: Embedder, query: str) -> NDArray[np.float32]:
    text = query.strip()
    if not text:
        raise QueryError("the search query is empty")
    vector = embedder.encode([text])[0]
    if not np.any(vector):
        raise QueryError(f"the query {text[:60]!r} holds nothing the encoder can search by")
    return vector


def semantic_search(
    vectors: VectorStore,
    embedder: Embedder,
    query: str,
    filters: SearchFilter | None = None,
    limit: int = 10,
) -> list[VectorHit]:
    """The ``limit`` documents nearest in meaning to ``query`` that pass ``filters``."""
    if filters is not None and filters.empty:
        return []
    return vectors.search(embed_query(embedder, query), filters, limit)


def shares_asset(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same asset set overlap; two documents that tag no asset count as alike."""
    left, right = set(a.get("assets") or ()), set(b.get("assets") or ())
    return bool(left & right) or (not left and not right)


def collapse(
    hits: Sequence[VectorHit], threshold: float = DEFAULT_THRESHOLD, *, same_asset: bool = False
) -> list[list[VectorHit]]:
    """Group hits (with vectors) greedily by score: each joins the first group whose seed is
    at cosine >= ``threshold`` (and shares an asset when ``same_asset``), else starts one."""
    groups: list[tuple[NDArray[np.float32], list[VectorHit]]] = []
    for hit in sorted(hits, key=lambda h: (-h.score, h.id)):
        if hit.vector is None:
            raise ValueError("collapse needs hits searched with with_vectors=True")
        for seed_vector, group in groups:
            if float(np.dot(seed_vector, hit.vector)) >= threshold and (
                not same_asset or shares_asset(group[0].payload, hit.payload)
            ):
                group.append(hit)
                break
        else:
            groups.append((hit.vector, [hit]))
    return [group for _, group in groups]


def search_stories(
    vectors: VectorStore,
    embedder: Embedder,
    query: str,
    filters: SearchFilter | None = None,
    *,
    limit: int = 10,
    threshold: float = DEFAULT_THRESHOLD,
    same_asset: bool = False,
    overfetch: int = 4,
    max_members: int = 200,
) -> list[Story]:
    """Semantic search whose results are stories, not copies.

    Fetches ``limit * overfetch`` nearest documents, collapses the copies among them, then
    asks the store for every other copy of each story (they need not be near the query
    themselves), all under the same ``filters``. A document belongs to one story only.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if filters is not None and filters.empty:
        return []
    hits = vectors.search(
        embed_query(embedder, query), filters, limit * max(1, overfetch), with_vectors=True
    )
    claimed: set[str] = set()
    stories: list[Story] = []
    for group in collapse(hits, threshold, same_asset=same_asset):
        if len(stories) >= limit:
            break
        if group[0].id in claimed:
            continue
        members = {h.id: h.payload for h in group if h.id not in claimed}
        for dup in vectors.near_duplicates(group[0].id, threshold, filters, limit=max_members):
            if dup.id in claimed or dup.id in members:
                continue
            if same_asset and not shares_asset(group[0].payload, dup.payload):
                continue
            members[dup.id] = dup.payload
        claimed.update(members)
        ordered = sorted(members, key=lambda i: (members[i].get("published_at") or 0.0, i))
        stories.append(
            Story(
                id=ordered[0],
                score=group[0].score,
                payload=members[ordered[0]],
                member_ids=tuple(ordered),
            )
        )
    return stories
