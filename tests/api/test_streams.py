"""Subscriptions over SSE and WebSocket against a real uvicorn server: the log after a cursor,
then live events, for the chosen assets; resume without loss or duplicates; a subscriber
that stops reading is dropped at its bound while another receives everything."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.app import Services, create_app
from core.metrics import SUBSCRIBERS_DROPPED
from core.settings import Settings, load_settings
from core.store import Store
from core.store.events import NewEvent
from tests.api.keys import bearer
from tests.api.live import serve_app as live_server


def _publish(store: Store, *points: tuple[str, float], pad: int = 0) -> list[int]:
    events = store.events.append(
        [NewEvent("sentiment", a, {"index": v, "pad": "x" * pad}) for a, v in points]
    )
    return [e.id for e in events]


_LINES: dict[int, Iterator[str]] = {}


def sse_events(resp: httpx.Response, n: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """The next ``n`` events of an open SSE response, each with its id and name."""
    out: list[dict[str, Any]] = []
    frame: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    lines = _LINES.get(id(resp))
    if lines is None:
        lines = _LINES[id(resp)] = resp.iter_lines()
    for line in lines:
        assert time.monotonic() < deadline, out
        if line.startswith(":"):
            continue
        if line == "":
            if frame:
                body = json.loads(frame["data"])
                out.append({"sse_id": int(frame["id"]), "event": frame["event"], **body})
                frame = {}
                if len(out) == n:
                    return out
            continue
        name, _, value = line.partition(": ")
        frame[name] = value
    return out


@pytest.fixture
def server(settings: Settings, sqlite_store: Store) -> Iterator[tuple[str, dict[str, str]]]:
    services = Services(store=sqlite_store, model_version=lambda: None)
    with live_server(create_app(settings, services=services)) as url:
        yield url, bearer(sqlite_store, "subscribe")


def test_sse_sends_the_log_after_the_cursor_then_live_events_of_chosen_assets(
    server: tuple[str, dict[str, str]], sqlite_store: Store
) -> None:
    url, auth = server
    ids = _publish(sqlite_store, ("BTC", 50.0), ("ETH", 40.0), ("BTC", 51.0))
    with (
        httpx.Client(base_url=url, headers=auth, timeout=10) as client,
        client.stream("GET", "/v1/sentiment/stream", params={"assets": "btc", "cursor": 0}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        backlog = sse_events(r, 2)
        later = _publish(sqlite_store, ("ETH", 41.0), ("BTC", 52.0))
        live = sse_events(r, 1)
    got = backlog + live
    assert [(e["sse_id"], e["event"], e["asset"], e["data"]["index"]) for e in got] == [
        (ids[0], "sentiment", "BTC", 50.0),
        (ids[2], "sentiment", "BTC", 51.0),
        (later[1], "sentiment", "BTC", 52.0),
    ]
    assert all(e["id"] == e["sse_id"] and e["topic"] == "sentiment" for e in got)


def test_a_reconnecting_consumer_misses_nothing_and_gets_nothing_twice(
    server: tuple[str, dict[str, str]], sqlite_store: Store
) -> None:
    url, auth = server
    _publish(sqlite_store, ("BTC", 50.0))
    received: list[int] = []
    with httpx.Client(base_url=url, headers=auth, timeout=10) as client:
        with client.stream("GET", "/v1/sentiment/stream", params={"cursor": 0}) as r:
            received += [e["id"] for e in sse_events(r, 1)]
            _publish(sqlite_store, ("BTC", 51.0), ("SOL", 9.0))
            received += [e["id"] for e in sse_events(r, 1)]
        # disconnected after two events; three more are published meanwhile
        _publish(sqlite_store, ("ETH", 1.0), ("BTC", 2.0), ("BTC", 3.0))
        headers = {"Last-Event-ID": str(received[-1])}
        with client.stream("GET", "/v1/sentiment/stream", headers=headers) as r:
            received += [e["id"] for e in sse_events(r, 4)]
    everything = [e.id for e in sqlite_store.events.since(0)]
    assert received == everything and len(set(received)) == 6


def test_stream_input_and_scope_are_checked(
    server: tuple[str, dict[str, str]], sqlite_store: Store
) -> None:
    url, auth = server
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/v1/sentiment/stream").status_code == 401
        read_only = bearer(sqlite_store, "read")
        assert client.get("/v1/signals/stream", headers=read_only).status_code == 403
        bad = client.get("/v1/sentiment/stream", headers=auth, params={"assets": "BTC,$$"})
        assert bad.status_code == 422 and "not an asset symbol" in bad.json()["detail"]
        bad = client.get("/v1/sentiment/stream", headers={**auth, "Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][0] == "header"
        assert (
            client.get("/v1/sentiment/stream", headers=auth, params={"cursor": -1}).status_code
            == 422
        )


def test_websocket_resumes_from_a_cursor_and_follows_live_events(
    server: tuple[str, dict[str, str]], sqlite_store: Store
) -> None:
    url, auth = server
    ws_url = url.replace("http://", "ws://") + "/v1/sentiment/stream"
    first = _publish(sqlite_store, ("BTC", 50.0), ("BTC", 51.0))
    with connect(f"{ws_url}?assets=BTC&cursor={first[0]}", additional_headers=auth) as ws:
        assert json.loads(ws.recv(timeout=10))["id"] == first[1]
        later = _publish(sqlite_store, ("ETH", 3.0), ("BTC", 52.0))
        event = json.loads(ws.recv(timeout=10))
        assert (event["id"], event["data"]["index"]) == (later[1], 52.0)
    token = auth["Authorization"].split()[1]
    with connect(f"{ws_url}?cursor=0&access_token={token}") as ws:
        assert [json.loads(ws.recv(timeout=10))["id"] for _ in range(4)] == [*first, *later]
    with pytest.raises(ConnectionClosed) as closed, connect(ws_url) as ws:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_subscriber_that_stops_reading_is_dropped_and_the_others_get_everything(
    settings: Settings, sqlite_store: Store
) -> None:
    small = load_settings(data_dir=settings.data_dir, api={"subscriber_queue": 20})
    services = Services(store=sqlite_store, model_version=lambda: None)
    app = create_app(small, services=services)
    auth = bearer(sqlite_store, "subscribe")
    dropped_before = SUBSCRIBERS_DROPPED._value.get()
    n, pad = 600, 20_000  # 12 MB: more than the kernel and uvicorn buffer for a silent reader
    with live_server(app) as url:
        host, port = url.removeprefix("http://").split(":")
        stalled = socket.create_connection((host, int(port)))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(
            f"GET /v1/sentiment/stream HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth['Authorization']}\r\n\r\n".encode()
        )
        received: list[int] = []
        with (
            httpx.Client(base_url=url, headers=auth, timeout=30) as client,
            client.stream("GET", "/v1/sentiment/stream") as r,
        ):
            deadline = time.monotonic() + 10
            while app.state.broker.subscribers < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            publisher = threading.Thread(
                target=lambda: [
                    _publish(sqlite_store, ("BTC", float(i)), pad=pad) for i in range(n)
                ]
            )
            publisher.start()
            received = [e["data"]["index"] for e in sse_events(r, n, timeout_s=120)]
            publisher.join()
            assert app.state.broker.subscribers == 1
        stalled.close()
    assert received == [float(i) for i in range(n)]
    assert SUBSCRIBERS_DROPPED._value.get() == dropped_before + 1
