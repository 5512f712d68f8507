"""API benchmark: ``GET /v1/sentiment/BTC`` under load, and SSE fan-out to many subscribers,
against a real uvicorn server in its own process, printed as one JSON object.

    .venv/bin/python benchmarks/bench_api.py                        # both parts (about 2 min)
    .venv/bin/python benchmarks/bench_api.py --part http --seconds 20
    .venv/bin/python benchmarks/bench_api.py --part sse --subscribers 2000 --updates 15
    .venv/bin/python benchmarks/bench_api.py --profile              # where a miss spends time

The store is built first: ``--docs`` scored headlines (default 7,524, the size of the
backfilled store) over 60 days on five assets, and their index, on SQLite in a temporary
data directory. The HTTP part runs twice in the same run: the baseline without the answer
cache (``api.cache_s = 0``: every request reads the database and computes the open bucket)
and with it (``api.cache_s = 1``), at ``--concurrency`` keep-alive connections from a small
asyncio client (raw HTTP/1.1, so the client costs little of the shared CPU). Latency is
request sent to last byte read. The SSE part opens ``--subscribers`` streams on BTC, has a
second process publish one BTC update per second to the event log, and checks that every
subscriber received every update, in order; latency is publish time (in the payload) to
frame read. The machine's load average is printed: on a shared machine the neighbours show.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import pstats
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MV = "bench-model"
ASSETS = ("BTC", "ETH", "SOL", "XRP", "DOGE")
TARGET_RPS, TARGET_P99_MS, TARGET_SSE_P99_MS = 1500.0, 20.0, 500.0


def build_store(data_dir: Path, docs: int) -> tuple[str, datetime]:
    """``docs`` scored headlines and their index; returns a read+subscribe key and 'now'."""
    from core.records import Document, Label, SentimentScore
    from core.settings import load_settings
    from core.store import build_store as open_store
    from nlp.index import update_index

    settings = load_settings(data_dir=data_dir)
    store = open_store(settings.db, settings.paths)
    rng = random.Random(7)  # noqa: S311 (synthetic scores, not secrets)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = timedelta(days=60)
    now = start + span + timedelta(minutes=20)
    batch_docs, batch_scores = [], []
    for i in range(docs):
        at = start + span * (i / docs)
        asset = ASSETS[i % len(ASSETS)] if i % 3 else "BTC"
        d = Document.build(
            source=f"rss:feed{i % 12}",
            url=f"https://news.example.com/{asset.lower()}/{i}",
            title=f"{asset} headline {i}: traders weigh flows and funding",
            text=f"Body of headline {i} about {asset}.",
            published_at=at,
            ingested_at=at,
            assets=(asset,),
        )
        s = max(-0.95, min(0.95, rng.gauss(0.1 * math.sin(i / 300), 0.4)))
        batch_docs.append(d)
        batch_scores.append(
            SentimentScore(
                document_id=d.id,
                model_version=MV,
                label=Label.POSITIVE if s > 0 else Label.NEGATIVE,
                p_negative=(1 - s) / 2,
                p_neutral=0.0,
                p_positive=(1 + s) / 2,
                scored_at=at,
            )
        )
    store.documents.add(batch_docs)
    store.scores.add(batch_scores)
    update_index(store, MV, settings.index, now=now - timedelta(hours=2))  # a little behind
    _, key = store.keys.create("read,subscribe", name="bench")
    store.close()
    return key, now


def serve(data_dir: str, port: int, cache_s: float, now_iso: str) -> None:
    """The server process: the API over the bench store, limits out of the way."""
    import uvicorn

    from api.app import Services, create_app
    from core.settings import load_settings

    settings = load_settings(
        data_dir=data_dir,
        api={"rate_per_s": 1e9, "rate_burst": 10**9, "cache_s": cache_s, "subscriber_queue": 1000},
        log_level="WARNING",
    )
    services = Services.from_settings(settings)
    now = datetime.fromisoformat(now_iso)
    services.clock = lambda: now
    app = create_app(settings, services=services)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, data_dir: Path, cache_s: float, now: datetime) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(  # noqa: S603 (this interpreter, this file)
            [
                sys.executable,
                __file__,
                "--serve",
                str(data_dir),
                str(self.port),
                str(cache_s),
                now.isoformat(),
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- HTTP load ----------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _connection(
    port: int,
    request: bytes,
    stop_at: float,
    warm_until: float,
    lat: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            writer.write(request)
            status = await _read_response(reader)
            t1 = time.perf_counter()
            if t0 >= warm_until:
                lat.append(t1 - t0)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


def http_load(
    port: int, key: str, concurrency: int, seconds: float, warmup: float
) -> dict[str, Any]:
    request = (
        f"GET /v1/sentiment/BTC HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
    lat: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        start = time.perf_counter()
        warm_until, stop_at = start + warmup, start + warmup + seconds
        await asyncio.gather(
            *(
                _connection(port, request, stop_at, warm_until, lat, errors)
                for _ in range(concurrency)
            )
        )

    asyncio.run(run())
    lat.sort()
    return {
        "requests": len(lat),
        "rps": round(len(lat) / seconds, 1),
        "p50_ms": round(_pct(lat, 0.50) * 1000, 2),
        "p99_ms": round(_pct(lat, 0.99) * 1000, 2),
        "non_200": len(errors),
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# --- SSE fan-out ----------------------------------------------------------------------------


async def _subscriber(
    port: int, key: str, updates: int, out: list[tuple[list[int], list[float]]], ready: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(
        (
            "GET /v1/sentiment/stream?assets=BTC HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    ids: list[int] = []
    lags: list[float] = []
    try:
        await reader.readuntil(b"\r\n\r\n")
        ready.append(1)
        while len(ids) < updates:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"id: "):
                ids.append(int(line[4:]))
            elif line.startswith(b"data: "):
                sent = json.loads(line[6:])["data"]["sent"]
                lags.append(time.time() - sent)
    finally:
        out.append((ids, lags))
        writer.close()


def _publisher(data_dir: Path, updates: int, start: threading.Event) -> None:
    from core.settings import load_settings
    from core.store import build_store as open_store
    from core.store.events import NewEvent

    settings = load_settings(data_dir=data_dir)
    store = open_store(settings.db, settings.paths)
    start.wait()
    try:
        for i in range(updates):
            t = time.time()
            store.events.append([NewEvent("sentiment", "BTC", {"index": 50 + i, "sent": t})])
            time.sleep(max(0.0, 1.0 - (time.time() - t)))
    finally:
        store.close()


def sse_fanout(
    data_dir: Path, port: int, key: str, subscribers: int, updates: int
) -> dict[str, Any]:
    out: list[tuple[list[int], list[float]]] = []
    ready: list[int] = []
    start = threading.Event()
    publisher = threading.Thread(target=_publisher, args=(data_dir, updates, start), daemon=True)
    publisher.start()

    async def run() -> None:
        tasks = []
        for i in range(subscribers):
            tasks.append(asyncio.create_task(_subscriber(port, key, updates, out, ready)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)  # do not overflow the listen backlog
        for _ in range(1200):  # up to 2 minutes for every stream to be open
            if len(ready) >= subscribers:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the last ones are registered with the broker
        start.set()
        await asyncio.wait(tasks, timeout=updates + 60)

    asyncio.run(run())
    complete = sum(1 for ids, _ in out if len(ids) == updates)
    in_order = sum(1 for ids, _ in out if ids == sorted(set(ids)))
    lags = sorted(lag for _, ls in out for lag in ls)
    return {
        "subscribers": subscribers,
        "connected": len(ready),
        "updates": updates,
        "received_all": complete,
        "in_order_no_duplicates": in_order,
        "p50_ms": round(_pct(lags, 0.50) * 1000, 1),
        "p99_ms": round(_pct(lags, 0.99) * 1000, 1),
        "max_ms": round((lags[-1] if lags else float("nan")) * 1000, 1),
    }


# --- profile of a cache miss ------------------------------------------------------------------


def profile_miss(data_dir: Path, now: datetime, n: int = 200) -> str:
    from api.routes.sentiment import sentiment_series
    from core.assets import require_known_asset
    from core.settings import load_settings
    from core.store import build_store as open_store

    settings = load_settings(data_dir=data_dir)
    store = open_store(settings.db, settings.paths)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        sentiment_series(
            asset=require_known_asset(store, "btc"),
            store=store,
            index_settings=settings.index,
            model_version=store.scores.latest_version(),
            clock=lambda: now,
        ).model_dump_json()
    prof.disable()
    store.close()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "http", "sse"), default="all")
    parser.add_argument("--docs", type=int, default=7524)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="print where a cache miss goes")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), float(args.serve[2]), args.serve[3])
        return

    result: dict[str, Any] = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        t0 = time.perf_counter()
        key, now = build_store(data_dir, args.docs)
        result["store"] = {"documents": args.docs, "build_s": round(time.perf_counter() - t0, 1)}
        if args.profile:
            sys.stderr.write(profile_miss(data_dir, now) + "\n")
        if args.part in ("all", "http"):
            runs = {}
            for name, cache_s in (("baseline_no_cache", 0.0), ("answer_cache_1s", 1.0)):
                server = Server(data_dir, cache_s, now)
                try:
                    runs[name] = http_load(
                        server.port, key, args.concurrency, args.seconds, args.warmup
                    )
                finally:
                    server.stop()
            base, fast = runs["baseline_no_cache"], runs["answer_cache_1s"]
            result["get_sentiment_btc"] = {
                "concurrency": args.concurrency,
                **runs,
                "rps_ratio_vs_baseline": round(fast["rps"] / max(base["rps"], 1e-9), 1),
                "target": {"rps": TARGET_RPS, "p99_ms": TARGET_P99_MS},
                "target_met": fast["rps"] >= TARGET_RPS and fast["p99_ms"] < TARGET_P99_MS,
            }
        if args.part in ("all", "sse"):
            server = Server(data_dir, 1.0, now)
            try:
                sse = sse_fanout(data_dir, server.port, key, args.subscribers, args.updates)
            finally:
                server.stop()
            sse["target_p99_ms"] = TARGET_SSE_P99_MS
            sse["target_met"] = (
                sse["received_all"] == args.subscribers and sse["p99_ms"] < TARGET_SSE_P99_MS
            )
            result["sse_fanout"] = sse
    result["load_average_after"] = os.getloadavg()
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
