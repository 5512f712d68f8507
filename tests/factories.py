"""Small builders for records in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.records import Document, SourceFamily

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def doc(
    url: str = "https://news.example.com/a/bitcoin-rallies",
    *,
    title: str = "Bitcoin rallies past resistance as ETF inflows rise",
    text: str = "Spot bitcoin funds took in record inflows on the day, traders said.",
    source: str = "rss:example",
    minutes: int = 0,
    assets: tuple[str, ...] = ("BTC",),
    family: SourceFamily = SourceFamily.NEWS,
    **kw: object,
) -> Document:
    at = T0 + timedelta(minutes=minutes)
    return Document.build(
        source=source,
        url=url,
        title=title,
        text=text,
        published_at=at,
        ingested_at=at,
        assets=assets,
        family=family,
        **kw,  # type: ignore[arg-type]
    )
