"""A real uvicorn server on 127.0.0.1 in a thread, and a store seeded with real records.

The browser, the ``openai`` client and the MCP client talk to the API over TCP as they
would to ``cryptosense serve``; the store holds documents, scores, the index built from
them, candles, signals and their outcomes, so every panel has figures to show.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import uvicorn
from fastapi import FastAPI

from core.records import (
    Candle,
    Document,
    Label,
    SentimentScore,
    Signal,
    SignalOutcome,
    SourceFamily,
)
from core.settings import IndexSettings
from core.store import Store
from nlp.index import update_index

MV = "live-test-model"
H0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
HOURS = 30
NOW = H0 + timedelta(hours=HOURS, minutes=10)
HOSTILE_TITLE = '<img src=x onerror="document.body.dataset.pwned=1">BTC <b>whale</b> alert'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free port until the block ends; yields its base URL. The
    socket is bound before the server starts, so no other process can take the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def seed(store: Store) -> None:
    """Two days of BTC and ETH news with scores, the index over them, hourly candles, and
    daily signals of which some resolved."""
    docs, scores = [], []
    for h in range(HOURS):
        for asset, phase in (("BTC", 0.0), ("ETH", 1.5)):
            at = H0 + timedelta(hours=h, minutes=7)
            s = round(0.8 * math.sin(h / 4 + phase), 3)
            title = f"{asset} market note {h}: {'buyers return' if s > 0 else 'sellers press'}"
            if asset == "BTC" and h == HOURS - 1:
                title = HOSTILE_TITLE
            d = Document.build(
                source="rss:example",
                family=SourceFamily.NEWS,
                url=f"https://news.example.com/{asset.lower()}/{h}",
                title=title,
                text=f"{asset} traders watched flows in hour {h}.",
                published_at=at,
                ingested_at=at,
                assets=(asset,),
            )
            docs.append(d)
            scores.append(
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
    store.documents.add(docs)
    store.scores.add(scores)
    update_index(store, MV, IndexSettings(), now=NOW)
    candles = [
        Candle(
            exchange="bitstamp",
            pair=pair,
            timeframe="1h",
            ts=H0 + timedelta(hours=h),
            open=base + 10 * h,
            high=base + 10 * h + 25,
            low=base + 10 * h - 25,
            close=base + 10 * h + 5,
            volume_base=3.0,
            ingested_at=H0 + timedelta(hours=h + 1),
        )
        for pair, base in (("BTC/USD", 62000.0), ("ETH/USD", 3400.0))
        for h in range(HOURS)
    ]
    store.market.add_candles(candles)
    signals, outcomes = [], []
    for day in range(3):
        ts = H0 - timedelta(days=2 - day)
        signals.append(
            Signal(
                asset="BTC",
                ts=ts,
                horizon="1d",
                prob_up=0.55 + 0.02 * day,
                action="long",
                model_version="fusion-test",
                features_asof=ts,
                timeframe="1d",
                position=1.0,
                reasons=("model",),
                asof=ts + timedelta(minutes=5),
            )
        )
        if day < 2:
            outcomes.append(
                SignalOutcome(
                    asset="BTC",
                    timeframe="1d",
                    horizon="1d",
                    ts=ts,
                    position=1.0,
                    fill_price=60000.0,
                    exit_price=60600.0 if day == 0 else 59700.0,
                    realised_return=0.01 if day == 0 else -0.005,
                    net_return=0.0085 if day == 0 else -0.0065,
                    hit=1.0 if day == 0 else 0.0,
                    resolved_at=ts + timedelta(days=1, minutes=1),
                )
            )
    store.signals.add(signals)
    store.signals.add_outcomes(outcomes)
