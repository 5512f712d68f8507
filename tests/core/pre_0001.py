"""A database as cryptosense left it before migrations existed, built without the store.

The schema comes from ``tests/data/schema/pre_0001_<dialect>.sql`` (the DDL ``create_all``
ran before issue 9, generated from that commit); the rows are written with plain SQL in the
formats the old code stored (SQLite: naive UTC text timestamps, JSON as text), so nothing
here depends on the migrations or the models under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

SCHEMA = Path(__file__).parents[1] / "data" / "schema"
REAL_TABLES = (
    "documents",
    "document_sources",
    "document_assets",
    "sentiment_scores",
    "sentiment_cache",
    "index_points",
    "candles",
    "onchain_metrics",
    "source_state",
    "ingest_warnings",
)
PLACEHOLDER_TABLES = ("signals", "subscriptions", "briefings")

T = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DOC_NEWS = "7d2c7a1e-0000-5000-8000-000000000001"
DOC_POST = "7d2c7a1e-0000-5000-8000-000000000002"
HASH_NEWS = "a" * 64
HASH_POST = "b" * 64


def build(url: str) -> Engine:
    """Create the pre-0001 schema at ``url`` (an empty database) and return a plain engine."""
    engine = create_engine(url)
    ddl = (SCHEMA / f"pre_0001_{engine.dialect.name}.sql").read_text()
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            raw.driver_connection.executescript(ddl)  # type: ignore[union-attr]
        else:
            raw.cursor().execute(ddl)
            raw.commit()
    finally:
        raw.close()
    return engine


def rows() -> dict[str, list[dict[str, Any]]]:
    """One or more rows for every table the old code wrote, keyed by table."""
    meta_post = {"score": 12, "num_comments": 3, "warnings": ["truncated"]}
    return {
        "documents": [
            {
                "id": DOC_NEWS,
                "source": "rss:coindesk",
                "family": "news",
                "source_id": None,
                "url": "https://news.example.com/a/bitcoin-rallies",
                "title": "Bitcoin rallies past resistance as ETF inflows rise",
                "text": "Spot bitcoin funds took in record inflows on the day.",
                "author": "A. Writer",
                "published_at": T,
                "ingested_at": T,
                "content_hash": HASH_NEWS,
                "lang": "en",
                "meta": json.dumps({}),
            },
            {
                "id": DOC_POST,
                "source": "reddit:Bitcoin",
                "family": "reddit",
                "source_id": "t3_abc",
                "url": None,
                "title": "Is this the top?",
                "text": "Asking for a friend who bought yesterday.",
                "author": None,
                "published_at": datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
                "ingested_at": datetime(2024, 3, 1, 12, 31, 5, 250000, tzinfo=UTC),
                "content_hash": HASH_POST,
                "lang": None,
                "meta": json.dumps(meta_post),
            },
        ],
        "document_sources": [
            {"document_id": DOC_NEWS, "source": "rss:coindesk", "url": None, "seen_at": T},
            {
                "document_id": DOC_NEWS,
                "source": "rss:mirror",
                "url": "https://mirror.example/1",
                "seen_at": T,
            },
            {"document_id": DOC_POST, "source": "reddit:Bitcoin", "url": None, "seen_at": T},
        ],
        "document_assets": [
            {"document_id": DOC_NEWS, "asset": "BTC"},
            {"document_id": DOC_NEWS, "asset": "ETH"},
            {"document_id": DOC_POST, "asset": "BTC"},
        ],
        "sentiment_scores": [
            _score(DOC_NEWS, "positive", 0.1, 0.2, 0.7),
            _score(DOC_POST, "negative", 0.6, 0.3, 0.1),
        ],
        "sentiment_cache": [
            {
                "text_hash": "c" * 64,
                "model_version": "m1",
                "p_negative": 0.25,
                "p_neutral": 0.5,
                "p_positive": 0.25,
                "created_at": T,
            }
        ],
        "index_points": [
            {
                "asset": "BTC",
                "family": "all",
                "freq": "1h",
                "model_version": "m1",
                "ts": T,
                "asof": datetime(2024, 3, 1, 13, 0, tzinfo=UTC),
                "n_docs": 2,
                "mean": 0.05,
                "dispersion": 0.55,
                "share_bullish": 0.5,
                "share_bearish": 0.5,
                "weighted_mean": -0.2,
                "index": 52.5,
                "zscore": None,
            }
        ],
        "candles": [
            {
                "exchange": "bitstamp",
                "pair": "BTC/USD",
                "timeframe": "1h",
                "ts": T,
                "open": 62000.0,
                "high": 62500.5,
                "low": 61900.0,
                "close": 62400.25,
                "volume_base": 12.5,
                "volume_quote": None,
                "ingested_at": datetime(2024, 3, 1, 13, 0, 2, tzinfo=UTC),
            }
        ],
        "onchain_metrics": [
            {
                "asset": "btc",
                "metric": "TxCnt",
                "day": date(2024, 3, 1),
                "source": "coinmetrics",
                "value": 412345.0,
                "ingested_at": T,
            }
        ],
        "source_state": [
            {
                "name": "rss:coindesk",
                "cursor": json.dumps({"etag": "W/abc", "modified": "Fri, 01 Mar 2024"}),
                "last_success_at": T,
                "last_error_at": datetime(2024, 3, 1, 11, 0, tzinfo=UTC),
                "last_error": "HTTP 503",
                "consecutive_failures": 0,
                "circuit_open_until": None,
                "items_day": date(2024, 3, 1),
                "items_today": 17,
            },
            {
                "name": "reddit:Bitcoin",
                "cursor": json.dumps({}),
                "last_success_at": None,
                "last_error_at": T,
                "last_error": "timeout",
                "consecutive_failures": 5,
                "circuit_open_until": datetime(2024, 3, 1, 12, 5, tzinfo=UTC),
                "items_day": None,
                "items_today": 0,
            },
        ],
        "ingest_warnings": [
            # ids come from the database, as they did (so PostgreSQL's sequence moves on too)
            {"source": "rss:coindesk", "reason": "malformed-xml", "detail": "l3", "at": T},
            {"source": "rss:coindesk", "reason": "not-english", "detail": "", "at": T},
        ],
    }


def placeholder_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows for the tables cryptosense defined but never wrote (only a person could have)."""
    return {
        "signals": [
            {
                "asset": "BTC",
                "ts": T,
                "horizon": "1d",
                "model_version": "f1",
                "prob_up": 0.61,
                "action": "long",
                "features_asof": T,
            }
        ],
        "subscriptions": [
            {
                "asset": "BTC",
                "freq": "1h",
                "webhook_url": "https://hooks.example/1",
                "secret": "s3cret",
                "created_at": T,
                "active": True,
            }
        ],
        "briefings": [{"day": date(2024, 3, 1), "created_at": T, "body": json.dumps({"a": 1})}],
    }


def fill(engine: Engine, tables: dict[str, list[dict[str, Any]]]) -> None:
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        for table, batch in tables.items():
            columns = list(batch[0])
            names = ", ".join(f'"{c}"' for c in columns)
            params = ", ".join(f":{c}" for c in columns)
            conn.execute(
                text(f"INSERT INTO {table} ({names}) VALUES ({params})"),  # noqa: S608
                [{c: _stored(v, sqlite) for c, v in row.items()} for row in batch],
            )


def snapshot(engine: Engine, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables`` as the database returns it (no type processing), sorted."""
    with engine.connect() as conn:
        return {
            t: sorted(
                (tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}")).all()),  # noqa: S608
                key=repr,
            )
            for t in tables
        }


def _score(doc_id: str, label: str, neg: float, neu: float, pos: float) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "model_version": "m1",
        "label": label,
        "p_negative": neg,
        "p_neutral": neu,
        "p_positive": pos,
        "score": pos - neg,
        "scored_at": T,
    }


def _stored(value: Any, sqlite: bool) -> Any:
    """``value`` as the old code's SQLAlchemy types wrote it on SQLite (text), else as is."""
    if not sqlite:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value
