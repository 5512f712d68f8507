"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each delivery carries ``webhook-id`` (the same on every retry: receivers deduplicate on it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: ``v1,`` and the base64 of
HMAC-SHA256 over ``f"{id}.{timestamp}.{body}"``, keyed with the subscription's secret (the
bytes after ``whsec_``, base64-decoded). :func:`verify_webhook` is what a receiver runs; it
refuses a timestamp more than five minutes away, so a captured delivery cannot be replayed
later. It needs the standard library only and can be copied as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
TOLERANCE_S = 300


class WebhookVerificationError(Exception):
    """A delivery whose signature, timestamp or headers do not check out."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value of one delivery."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_headers(secret: str, msg_id: str, body: str, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> Any:
    """The delivery's JSON payload, after checking its signature and timestamp; raises
    :class:`WebhookVerificationError` otherwise. ``headers`` are matched case-insensitively."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, stamp, signatures = (
            lower["webhook-id"],
            lower["webhook-timestamp"],
            lower["webhook-signature"],
        )
        timestamp = int(stamp)
    except (KeyError, ValueError):
        raise WebhookVerificationError("missing or malformed webhook headers") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        raise WebhookVerificationError("timestamp outside the tolerance (a replay?)")
    text = body.decode() if isinstance(body, bytes) else body
    expected = sign(secret, msg_id, timestamp, text).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures.split()):
        raise WebhookVerificationError("no matching signature")
    return json.loads(text)
