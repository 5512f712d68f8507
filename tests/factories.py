"""Small builders for records in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.records import Document, Label, SentimentScore, SourceFamily

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


def score(
    document_id: str,
    model_version: str = "m1",
    *,
    positive: float = 0.7,
    negative: float = 0.1,
    minutes: int = 0,
) -> SentimentScore:
    """A score with the given probabilities (neutral takes the rest), ``minutes`` after T0."""
    probs = {Label.NEGATIVE: negative, Label.NEUTRAL: 1 - positive - negative}
    probs[Label.POSITIVE] = positive
    return SentimentScore(
        document_id=document_id,
        model_version=model_version,
        label=max(probs, key=probs.__getitem__),
        p_negative=negative,
        p_neutral=probs[Label.NEUTRAL],
        p_positive=positive,
        scored_at=T0 + timedelta(minutes=minutes),
    )
