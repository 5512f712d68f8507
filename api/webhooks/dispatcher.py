"""Delivering webhooks in a thread of their own, so neither the pipeline nor the API waits.

Each round: read the event log after the dispatcher's cursor, queue a delivery for every
active webhook whose assets and conditions the event meets (with the cursor, in one
transaction: a restart neither loses nor repeats one), then send what is due, a few at once.
A 2xx answer is delivered; anything else (an error status, a refused connection, a timeout)
is tried again after ``backoff_s``, doubled each time up to ``backoff_max_s``, until
``max_attempts``, then marked failed. Every attempt is in the delivery log.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import TypeAdapter

from api.webhooks.conditions import Condition, matched
from api.webhooks.signing import signed_headers
from core.metrics import WEBHOOK_DELIVERIES
from core.settings import WebhookSettings
from core.store import Store
from core.store.events import Event
from core.store.webhooks import DELIVERED, FAILED, PENDING, Delivery, Webhook
from core.times import utcnow

log = logging.getLogger(__name__)

_CONDITIONS = TypeAdapter(list[Condition])


class Dispatcher:
    def __init__(self, store: Store, settings: WebhookSettings, *, poll_s: float = 0.5) -> None:
        self.store = store
        self.settings = settings
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=settings.timeout_s, follow_redirects=False)
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="webhook")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_s + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def wake(self) -> None:
        """Look at the log now (any thread may call it: the broker does on new events)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database or a bug: logged, and the next round tries again
                log.exception("webhook dispatcher round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run_once(self, now: datetime | None = None) -> int:
        """One round: queue deliveries for new events, send those due. Returns attempts made."""
        self.queue_new_events()
        due = self.store.webhooks.due(now or utcnow())
        if not due:
            return 0
        hooks = {h.id: h for h in self.store.webhooks.registered()}
        list(self._pool.map(lambda d: self._attempt(d, hooks.get(d.webhook_id)), due))
        return len(due)

    def queue_new_events(self) -> int:
        repo = self.store.webhooks
        cursor = repo.cursor()
        if cursor is None:  # first run ever: webhooks start from now
            repo.enqueue([], self.store.events.last_id())
            return 0
        queued = 0
        while True:
            events = self.store.events.since(cursor, limit=500)
            if not events:
                return queued
            hooks = [
                (h, _CONDITIONS.validate_python(list(h.conditions)))
                for h in repo.registered(active_only=True)
            ]
            deliveries = [
                (hook.id, event.id, _body(hook, event, hits))
                for event in events
                for hook, conditions in hooks
                if _wants(hook, event) and (hits := matched(conditions, event))
            ]
            cursor = events[-1].id
            queued += repo.enqueue(deliveries, cursor)

    def _attempt(self, delivery: Delivery, hook: Webhook | None) -> None:
        repo = self.store.webhooks
        if hook is None or hook.disabled_at is not None:
            repo.record_attempt(
                delivery.id,
                status=FAILED,
                status_code=None,
                error="webhook deleted",
                next_attempt_at=None,
            )
            return
        headers = signed_headers(hook.secret, delivery.id, delivery.body)
        code: int | None = None
        try:
            resp = self._client.post(hook.url, content=delivery.body.encode(), headers=headers)
            code = resp.status_code
            error = None if resp.is_success else f"HTTP {code}"
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        if error is None:
            WEBHOOK_DELIVERIES.labels("delivered").inc()
            repo.record_attempt(
                delivery.id, status=DELIVERED, status_code=code, error=None, next_attempt_at=None
            )
            return
        attempts = delivery.attempts + 1
        if attempts >= self.settings.max_attempts:
            WEBHOOK_DELIVERIES.labels("failed").inc()
            log.warning("webhook %s: delivery %s failed for good: %s", hook.id, delivery.id, error)
            repo.record_attempt(
                delivery.id, status=FAILED, status_code=code, error=error, next_attempt_at=None
            )
            return
        WEBHOOK_DELIVERIES.labels("retry").inc()
        wait = min(self.settings.backoff_s * 2 ** (attempts - 1), self.settings.backoff_max_s)
        repo.record_attempt(
            delivery.id,
            status=PENDING,
            status_code=code,
            error=error,
            next_attempt_at=utcnow() + timedelta(seconds=wait),
        )


def _wants(hook: Webhook, event: Event) -> bool:
    return (not hook.assets or event.asset in hook.assets) and event.at >= hook.created_at


def _body(hook: Webhook, event: Event, hits: list[dict[str, Any]]) -> str:
    """The delivery's JSON: Standard Webhooks' ``type``/``timestamp``/``data`` envelope."""
    body = json.loads(event.json())
    return json.dumps(
        {
            "type": f"{event.topic}.{hits[0]['type']}",
            "timestamp": body["at"],
            "data": {**body, "webhook_id": hook.id, "conditions": hits},
        },
        separators=(",", ":"),
    )
