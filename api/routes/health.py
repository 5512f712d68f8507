"""``GET /healthz``: is the database reachable, which model is served, how much is stored."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep
from api.schemas import Health, Readiness

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


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: the checks say why"}},
)
def readyz(services: ServicesDep) -> Readiness | JSONResponse:
    """200 when this instance can serve: the database answers and its schema is this code's.
    A sentiment model still loading is reported, not a reason to refuse traffic (stored
    data is served meanwhile)."""
    checks: dict[str, str] = {}
    try:
        schema = services.store.schema()
        checks["database"] = "ok"
        checks["schema"] = "ok" if schema.up_to_date else schema.status
        version = services.model_version()
        checks["model"] = "ok" if version else "ok (no scores yet)"
    except SQLAlchemyError as err:
        log.warning("readiness check: database unreachable: %s", err)
        checks["database"] = f"unreachable: {type(err).__name__}"
    ready = checks.get("database") == "ok" and checks.get("schema") == "ok"
    body = Readiness(status="ready" if ready else "not ready", checks=checks)
    if ready:
        return body
    return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
