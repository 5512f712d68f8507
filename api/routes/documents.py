"""``GET /v1/assets`` and ``GET /v1/documents``: what is stored, and what the agent cites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ModelVersionDep, StoreDep
from api.params import UtcTime
from api.problems import problem_responses
from api.schemas import AssetCount, AssetList, DocumentList, DocumentOut
from core.assets import require_known_asset
from core.store import CitedDocument

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
    responses=problem_responses(
        {
            404: "no stored document mentions the asset",
            422: "a bad limit, or a since that is not ISO 8601 or out of range",
        }
    ),
)
def recent_documents(
    store: StoreDep,
    model_version: ModelVersionDep,
    asset: Annotated[str | None, Query(description="only documents mentioning it")] = None,
    since: Annotated[UtcTime | None, Query(description="ingested at or after")] = None,
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
            since=since,
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
