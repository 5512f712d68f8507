"""Rows to records and back: the conversions more than one repository needs.

Repositories take and return the frozen records of :mod:`core.records`; only these functions
know how a record's fields are laid out in columns (a document's metadata and warnings share
one JSON column, its assets and sources live in child tables).
"""

from __future__ import annotations

import json
from typing import Any

from core.records import Document, SentimentScore, SourceFamily
from core.store.tables import DocumentRow, SentimentScoreRow

#: Document fields stored in columns of the same name (the rest: assets, metadata, warnings).
_COLUMNS = (
    "id",
    "source",
    "source_id",
    "url",
    "title",
    "text",
    "author",
    "published_at",
    "ingested_at",
    "content_hash",
    "lang",
)


def document_row(d: Document) -> dict[str, Any]:
    meta = dict(d.metadata)
    if d.warnings:
        meta["warnings"] = list(d.warnings)
    return {
        **{name: getattr(d, name) for name in _COLUMNS},
        "family": d.family.value,
        "meta": json.loads(json.dumps(meta, default=str)),
    }


def to_document(row: DocumentRow, assets: tuple[str, ...]) -> Document:
    meta = dict(row.meta or {})
    warnings = tuple(meta.pop("warnings", ()))
    return Document(
        **{name: getattr(row, name) for name in _COLUMNS},
        family=SourceFamily(row.family),
        assets=assets,
        metadata=meta,
        warnings=warnings,
    )


def to_score(row: SentimentScoreRow) -> SentimentScore:
    return SentimentScore.model_validate(row.model_dump(exclude={"score"}))
