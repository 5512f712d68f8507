"""Webhooks: Standard Webhooks signatures (the spec's own test vector), registration and its
checks, and deliveries to a real receiver on 127.0.0.1 that verifies them, with retries,
backoff and a delivery log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api.app import Services, create_app
from api.webhooks.signing import WebhookVerificationError, sign, signed_headers, verify_webhook
from core.settings import Settings, load_settings
from core.store import Store
from core.store.events import NewEvent
from tests.api.keys import bearer
from tests.api.live import serve_app as live_server
from tests.loopback import LoopbackServer, Reply, Request, serve

# From the Standard Webhooks reference libraries' tests.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TS, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE
    headers = {
        "Webhook-Id": SPEC_ID,
        "Webhook-Timestamp": str(SPEC_TS),
        "Webhook-Signature": f"v1,bm90IHRoaXMgb25l {SPEC_SIGNATURE}",  # one of several
    }
    assert verify_webhook(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 299) == {
        "test": 2432232314
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"now": SPEC_TS + 301}, "timestamp outside"),
        ({"now": SPEC_TS - 301}, "timestamp outside"),
        ({"body": '{"test": 2432232315}'}, "no matching signature"),
        ({"secret": "whsec_" + "A" * 32}, "no matching signature"),
        ({"headers": {"webhook-id": SPEC_ID}}, "missing or malformed"),
    ],
)
def test_verify_refuses_stale_tampered_and_unsigned_deliveries(
    change: dict[str, Any], reason: str
) -> None:
    args: dict[str, Any] = {
        "secret": SPEC_SECRET,
        "headers": {
            "webhook-id": SPEC_ID,
            "webhook-timestamp": str(SPEC_TS),
            "webhook-signature": SPEC_SIGNATURE,
        },
        "body": SPEC_BODY,
        "now": SPEC_TS,
        **change,
    }
    with pytest.raises(WebhookVerificationError, match=reason):
        verify_webhook(args["secret"], args["headers"], args["body"], now=args["now"])


def test_signed_headers_verify_with_the_receiver_helper() -> None:
    body = json.dumps({"type": "sentiment.index_crosses"})
    headers = signed_headers(SPEC_SECRET, "msg_x", body)
    assert verify_webhook(SPEC_SECRET, headers, body.encode()) == {
        "type": "sentiment.index_crosses"
    }


# --- through the API, to a real receiver ------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that verifies each delivery as the docs show."""

    def __init__(self, server: LoopbackServer, answers: Callable[[int], int]) -> None:
        self.server = server
        self.secret = ""
        self.verified: list[tuple[dict[str, str], Any]] = []
        self.refused: list[str] = []
        self.calls = 0

        def handle(req: Request) -> Reply:
            self.calls += 1
            try:
                payload = verify_webhook(self.secret, req.headers, req.body)
            except WebhookVerificationError as err:
                self.refused.append(str(err))
                return Reply(400, "bad signature")
            self.verified.append((req.headers, payload))
            return Reply(answers(self.calls), "ok")

        server.route("/hook", handle, method="POST")

    @property
    def url(self) -> str:
        return self.server.url("/hook")


def _wait(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _status(api: httpx.Client, hook: dict[str, Any]) -> str | None:
    """The newest delivery's status (None before the dispatcher has queued one)."""
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    return log[0]["status"] if log else None


@pytest.fixture
def fast_retries(settings: Settings) -> Settings:
    return load_settings(data_dir=settings.data_dir, webhooks={"backoff_s": 0.1, "max_attempts": 3})


@pytest.fixture
def api(fast_retries: Settings, sqlite_store: Store) -> Iterator[httpx.Client]:
    services = Services(store=sqlite_store, model_version=lambda: None)
    with (
        live_server(create_app(fast_retries, services=services)) as url,
        httpx.Client(base_url=url, headers=bearer(sqlite_store, "subscribe"), timeout=10) as c,
    ):
        yield c


def _publish(store: Store, asset: str, index: float, previous: float | None) -> int:
    [event] = store.events.append(
        [NewEvent("sentiment", asset, {"index": index, "previous_index": previous})]
    )
    return event.id


def _register(api: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "url": url,
        "assets": ["btc"],
        "conditions": [{"type": "index_crosses", "level": 60, "direction": "up"}],
        **extra,
    }
    resp = api.post("/v1/webhooks", json=body)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def test_a_crossing_is_delivered_signed_and_verified_by_the_receiver(
    api: httpx.Client, sqlite_store: Store
) -> None:
    with serve() as server:
        receiver = Receiver(server, lambda n: 200)
        hook = _register(api, receiver.url)
        receiver.secret = hook["secret"]
        assert hook["secret"].startswith("whsec_") and hook["assets"] == ["BTC"]
        _publish(sqlite_store, "BTC", 55.0, None)  # no previous value: no crossing
        _publish(sqlite_store, "ETH", 70.0, 50.0)  # another asset
        crossing = _publish(sqlite_store, "BTC", 62.0, 55.0)
        _publish(sqlite_store, "BTC", 58.0, 62.0)  # down: not asked for
        _wait(lambda: len(receiver.verified) == 1)
        time.sleep(1.0)  # nothing else comes
        assert receiver.refused == [] and len(receiver.verified) == 1
        headers, payload = receiver.verified[0]
        assert headers["webhook-id"] == f"msg_{hook['id']}_{crossing}"
        assert payload["type"] == "sentiment.index_crosses"
        assert payload["data"]["asset"] == "BTC" and payload["data"]["data"]["index"] == 62.0
        assert payload["data"]["conditions"] == [
            {"type": "index_crosses", "level": 60.0, "direction": "up"}
        ]
        _wait(lambda: _status(api, hook) == "delivered")
        [log] = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
        assert (log["event_id"], log["attempts"], log["last_status_code"]) == (crossing, 1, 200)


def test_failed_deliveries_are_retried_with_backoff_under_the_same_id(
    api: httpx.Client, sqlite_store: Store
) -> None:
    with serve() as server:
        receiver = Receiver(server, lambda n: 503 if n < 3 else 204)
        hook = _register(api, receiver.url)
        receiver.secret = hook["secret"]
        _publish(sqlite_store, "BTC", 65.0, 40.0)
        _wait(lambda: len(receiver.verified) == 3)
        ids = {h["webhook-id"] for h, _ in receiver.verified}
        stamps = [int(h["webhook-timestamp"]) for h, _ in receiver.verified]
        assert len(ids) == 1 and stamps == sorted(stamps)
        url = f"/v1/webhooks/{hook['id']}/deliveries"
        _wait(lambda: _status(api, hook) == "delivered")
        [log] = api.get(url).json()
        assert (log["attempts"], log["last_status_code"], log["last_error"]) == (3, 204, None)


def test_a_receiver_that_keeps_failing_ends_failed_in_the_log(
    api: httpx.Client, sqlite_store: Store
) -> None:
    with serve() as server:
        receiver = Receiver(server, lambda n: 500)
        hook = _register(api, receiver.url)
        receiver.secret = hook["secret"]
        _publish(sqlite_store, "BTC", 65.0, 40.0)
        url = f"/v1/webhooks/{hook['id']}/deliveries"
        _wait(lambda: _status(api, hook) == "failed")
        [log] = api.get(url).json()
        assert (log["attempts"], log["last_error"]) == (3, "HTTP 500")
        assert receiver.calls == 3


def test_a_hanging_receiver_does_not_hold_up_the_api_or_the_event_log(
    api: httpx.Client, sqlite_store: Store
) -> None:
    with serve() as server:
        server.route("/slow", Reply(200, "ok", delay_s=3.0), method="POST")
        _register(api, server.url("/slow"))
        _publish(sqlite_store, "BTC", 65.0, 40.0)
        _wait(lambda: len(server.requests) == 1)  # the delivery is in flight, hanging
        started = time.monotonic()
        more = [_publish(sqlite_store, "BTC", 50.0 + i, None) for i in range(20)]
        assert api.get("/v1/webhooks").status_code == 200
        assert time.monotonic() - started < 1.0
        assert [e.id for e in sqlite_store.events.since(more[0] - 1)] == more


def test_registration_is_checked_and_scoped_to_the_key(
    api: httpx.Client, sqlite_store: Store
) -> None:
    bad = [
        {"url": "ftp://example.com/x", "conditions": [{"type": "signal_changes"}]},
        {"url": "http://example.com/x", "conditions": []},
        {"url": "http://example.com/x", "conditions": [{"type": "index_crosses", "level": 120}]},
        {"url": "http://example.com/x", "conditions": [{"type": "moon"}]},
        {
            "url": "http://example.com/x",
            "assets": ["B$C"],
            "conditions": [{"type": "signal_changes"}],
        },
    ]
    for body in bad:
        resp = api.post("/v1/webhooks", json=body)
        assert resp.status_code == 422, body
        assert resp.headers["content-type"] == "application/problem+json"
    hook = _register(api, "http://127.0.0.1:9/hook", conditions=[{"type": "signal_changes"}])
    assert "secret" not in api.get(f"/v1/webhooks/{hook['id']}").json()
    assert [h["id"] for h in api.get("/v1/webhooks").json()] == [hook["id"]]
    other = bearer(sqlite_store, "subscribe")
    assert api.get(f"/v1/webhooks/{hook['id']}", headers=other).status_code == 404
    assert api.get("/v1/webhooks", headers=other).json() == []
    assert api.get("/v1/webhooks", headers=bearer(sqlite_store, "read")).status_code == 403
    assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{hook['id']}").json()["active"] is False
