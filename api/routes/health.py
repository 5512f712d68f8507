"""``GET /healthz``: is the database reachable, which model is served, how much is stored."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep
from api.schemas import Health

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={
        503: {
            "model": Health,
            "description": "the database does not answer: the health body with the reason, "
            "not a problem, so a probe reads one shape",
        }
    },
)
def healthz(services: ServicesDep) -> Health | JSONResponse:
    """200 when the database answers; 503 with the reason when it does not."""
    store = services.store
    try:
        counts = store.counts()
        model_version = services.model_version()
    except SQLAlchemyError as err:
        log.warning("health check: database unreachable: %s", err)
        body = Health(
            status="error", db=f"unreachable: {type(err).__name__}", dialect=store.dialect
        )
        return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
    return Health(
        status="ok",
        db="ok",
        dialect=store.dialect,
        model_version=model_version,
        model_upgrade=services.model_upgrade() if services.model_upgrade else None,
        documents=counts["documents"],
        scores=counts["scores"],
        index_points=counts["index_points"],
    )
