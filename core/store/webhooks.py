"""Registered webhooks and their delivery log.

A delivery is one event for one webhook; its id (``msg_<webhook>_<event>``) is the same on
every attempt, so receivers can deduplicate and queuing it twice stores it once. The
dispatcher's position in the event log is kept as the ``webhooks`` source state's cursor.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from core.store.engine import Database
from core.store.tables import SourceStateRow, WebhookDeliveryRow, WebhookRow
from core.times import utcnow

#: The source-state row holding the dispatcher's event cursor.
CURSOR_NAME = "webhooks:dispatcher"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Webhook:
    id: str
    key_id: str
    url: str
    assets: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    created_at: datetime
    disabled_at: datetime | None
    secret: str


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    event_id: int
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        key_id: str,
        url: str,
        assets: Sequence[str],
        conditions: Sequence[dict[str, Any]],
        secret: str,
    ) -> Webhook:
        row = WebhookRow(
            id=f"wh_{secrets.token_hex(8)}",
            key_id=key_id,
            url=url,
            assets=list(assets),
            conditions=list(conditions),
            secret=secret,
            created_at=utcnow(),
        )
        with self._db.session() as s, s.begin():
            s.add(row)
        return _webhook(row)

    def get(self, webhook_id: str) -> Webhook | None:
        with self._db.session() as s:
            row = s.get(WebhookRow, webhook_id)
            return None if row is None else _webhook(row)

    def registered(self, key_id: str | None = None, *, active_only: bool = False) -> list[Webhook]:
        with self._db.session() as s:
            q = select(WebhookRow)
            if key_id is not None:
                q = q.where(WebhookRow.key_id == key_id)
            if active_only:
                q = q.where(col(WebhookRow.disabled_at).is_(None))
            return [_webhook(r) for r in s.exec(q.order_by(col(WebhookRow.created_at))).all()]

    def disable(self, webhook_id: str) -> bool:
        """Stop deliveries to a webhook (its log stays); False when there is none."""
        with self._db.session() as s, s.begin():
            row = s.get(WebhookRow, webhook_id)
            if row is None:
                return False
            if row.disabled_at is None:
                row.disabled_at = utcnow()
            return True

    # deliveries ------------------------------------------------------------------------

    def enqueue(self, deliveries: Sequence[tuple[str, int, str]], cursor: int) -> int:
        """Queue ``(webhook_id, event_id, body)`` deliveries and move the dispatcher's cursor
        to ``cursor``, in one transaction. Returns how many were new."""
        now = utcnow()
        rows = [
            {
                "id": delivery_id(webhook_id, event_id),
                "webhook_id": webhook_id,
                "event_id": event_id,
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for webhook_id, event_id, body in deliveries
        ]
        with self._db.session() as s, s.begin():
            new = [r for r in rows if s.get(WebhookDeliveryRow, r["id"]) is None]
            if new:
                s.execute(self._db.insert(WebhookDeliveryRow).on_conflict_do_nothing(), new)
            state = s.get(SourceStateRow, CURSOR_NAME) or SourceStateRow(name=CURSOR_NAME)
            state.cursor = {"event_id": cursor}
            s.merge(state)
        return len(new)

    def cursor(self) -> int | None:
        """The last event the dispatcher has looked at (None: it never ran)."""
        with self._db.session() as s:
            state = s.get(SourceStateRow, CURSOR_NAME)
            return None if state is None else int(state.cursor.get("event_id", 0))

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        with self._db.session() as s:
            rows = s.exec(
                select(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.status == PENDING,
                    col(WebhookDeliveryRow.next_attempt_at) <= now,
                )
                .order_by(col(WebhookDeliveryRow.next_attempt_at), col(WebhookDeliveryRow.id))
                .limit(limit)
            ).all()
            return [_delivery(r) for r in rows]

    def record_attempt(
        self,
        delivery: str,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        with self._db.session() as s, s.begin():
            row = s.get(WebhookDeliveryRow, delivery)
            if row is None:
                return
            row.attempts += 1
            row.status = status
            row.last_status_code = status_code
            row.last_error = None if error is None else error[:500]
            row.next_attempt_at = next_attempt_at
            if status == DELIVERED:
                row.delivered_at = utcnow()

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Delivery]:
        """A webhook's delivery log, newest first."""
        with self._db.session() as s:
            rows = s.exec(
                select(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.webhook_id == webhook_id)
                .order_by(col(WebhookDeliveryRow.event_id).desc())
                .limit(limit)
            ).all()
            return [_delivery(r) for r in rows]


def delivery_id(webhook_id: str, event_id: int) -> str:
    return f"msg_{webhook_id}_{event_id}"


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        id=row.id,
        key_id=row.key_id,
        url=row.url,
        assets=tuple(row.assets),
        conditions=tuple(row.conditions),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        secret=row.secret,
    )


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        **{f: getattr(row, f) for f in Delivery.__dataclass_fields__}  # same names
    )
