"""``/v1/webhooks``: register a URL, assets and conditions; list, inspect, delete; read the
delivery log. Needs the ``subscribe`` scope; a key sees its own webhooks (``admin``: all).

The secret that signs the deliveries is returned once, when the webhook is created.
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field, field_validator

from api.auth import require_scope
from api.deps import StoreDep
from api.problems import invalid, problem_responses
from api.webhooks.conditions import Condition
from api.webhooks.signing import new_secret
from core.settings import WebhookSettings
from core.store.keys import ApiKey
from core.store.webhooks import Delivery, Webhook

router = APIRouter(prefix="/v1", tags=["webhooks"])
SubscribeKey = Annotated[ApiKey, Depends(require_scope("subscribe"))]
_SYMBOL_PATTERN = r"^[A-Za-z0-9]{1,12}$"


class WebhookIn(BaseModel):
    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^/?#\s]+",
        description="where deliveries are POSTed (http or https)",
        examples=["https://example.com/hooks/cryptosense"],
    )
    assets: list[Annotated[str, Field(pattern=_SYMBOL_PATTERN)]] = Field(
        default_factory=list,
        max_length=100,
        description="asset symbols; empty: every asset",
        examples=[["BTC", "ETH"]],
    )
    conditions: list[Condition] = Field(
        min_length=1,
        max_length=20,
        description="any one met sends a delivery",
        examples=[
            [
                {"type": "index_crosses", "level": 60, "direction": "up"},
                {"type": "zscore_beyond", "threshold": 2},
                {"type": "signal_changes"},
            ]
        ],
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return v


class WebhookOut(BaseModel):
    id: str
    url: str
    assets: list[str]
    conditions: list[Condition]
    created_at: datetime
    active: bool


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="signs every delivery (Standard Webhooks, whsec_...); shown only now"
    )


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header: the same on every retry")
    event_id: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        assets=list(hook.assets),
        conditions=list(hook.conditions),
        created_at=hook.created_at,
        active=hook.disabled_at is None,
    )


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


def _check_host(url: str, settings: WebhookSettings) -> None:
    """Where the API is public, a webhook must not point at the server's own network."""
    if settings.allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        raise invalid(("body", "url"), f"cannot resolve host {host!r}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved:
            raise invalid(("body", "url"), f"host {host!r} is a private address")


def _owned(store: StoreDep, key: SubscribeKey, webhook_id: str) -> Webhook:
    hook = store.webhooks.get(webhook_id)
    if hook is None or (hook.key_id != key.id and "admin" not in key.scopes):
        raise HTTPException(404, f"no webhook {webhook_id!r} for this key")
    return hook


WebhookId = Annotated[str, Path(max_length=40, description="the webhook's id (wh_...)")]
_404 = problem_responses({404: "no such webhook for this key"})


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=problem_responses({422: "a bad URL, asset or condition", 413: "body too large"}),
)
def create_webhook(
    body: WebhookIn, store: StoreDep, key: SubscribeKey, request: Request
) -> WebhookCreated:
    """Register a webhook. Deliveries are POSTed as JSON, signed per Standard Webhooks
    (headers webhook-id, webhook-timestamp, webhook-signature) with the returned secret, and
    retried with backoff until the receiver answers 2xx."""
    _check_host(body.url, request.app.state.settings.webhooks)
    secret = new_secret()
    hook = store.webhooks.create(
        key.id,
        body.url,
        sorted({a.upper() for a in body.assets}),
        [c.model_dump() for c in body.conditions],
        secret,
    )
    return WebhookCreated(**_out(hook).model_dump(), secret=secret)


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(store: StoreDep, key: SubscribeKey) -> list[WebhookOut]:
    """This key's webhooks (every key's for an admin key), oldest first."""
    owner = None if "admin" in key.scopes else key.id
    return [_out(h) for h in store.webhooks.registered(owner)]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, responses=_404)
def get_webhook(store: StoreDep, key: SubscribeKey, webhook_id: WebhookId) -> WebhookOut:
    return _out(_owned(store, key, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=_404)
def delete_webhook(store: StoreDep, key: SubscribeKey, webhook_id: WebhookId) -> Response:
    """Stop deliveries (pending ones are marked failed); the delivery log stays readable."""
    store.webhooks.disable(_owned(store, key, webhook_id).id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut], responses=_404)
def webhook_deliveries(
    store: StoreDep, key: SubscribeKey, webhook_id: WebhookId
) -> list[DeliveryOut]:
    """The delivery log, newest event first: status, attempts, the receiver's last answer."""
    hook = _owned(store, key, webhook_id)
    return [_delivery(d) for d in store.webhooks.deliveries(hook.id)]
