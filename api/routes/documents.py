"""``GET /v1/assets`` and ``GET /v1/documents``: what is stored, and what the agent cites."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ModelVersionDep, StoreDep, require_known_asset
from api.schemas import AssetCount, AssetList, DocumentList, DocumentOut, Error
from core.store import CitedDocument
from core.times import ensure_utc

router = APIRouter(prefix="/v1", tags=["documents"])


@router.get("/assets", response_model=AssetList)
def list_assets(store: StoreDep) -> AssetList:
    """Every asset a stored document mentions, with its document count."""
    return AssetList(
        assets=[AssetCount(asset=a, documents=n) for a, n in store.documents.asset_counts().items()]
    )


@router.get(
    "/documents",
    response_model=DocumentList,
    responses={404: {"model": Error, "description": "no stored document mentions the asset"}},
)
def recent_documents(
    store: StoreDep,
    model_version: ModelVersionDep,
    asset: Annotated[str | None, Query(description="only documents mentioning it")] = None,
    since: Annotated[datetime | None, Query(description="ingested at or after (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DocumentList:
    """Newest scored documents first, with their label, score and every source."""
    symbol = require_known_asset(store, asset) if asset is not None else None
    cited = (
        []
        if model_version is None
        else store.documents.cited(
            model_version,
            asset=symbol,
            since=ensure_utc(since) if since is not None else None,
            limit=limit,
        )
    )
    return DocumentList(model_version=model_version, documents=[_document(c) for c in cited])


def _document(c: CitedDocument) -> DocumentOut:
    d = c.document
    return DocumentOut(
        id=d.id,
        url=d.url,
        title=d.title,
        source=d.source,
        sources=list(c.sources),
        family=d.family.value,
        assets=list(d.assets),
        published_at=d.published_at,
        ingested_at=d.ingested_at,
        label=c.score.label.value,
        score=c.score.score,
    )
