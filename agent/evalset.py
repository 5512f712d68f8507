"""The agent's evaluation data: a small, fixed market (news about BTC, ETH and ETC over two
weeks, scored; hourly candles; on-chain values; fusion signals with a resolved ledger), built
through the project's record types and store, so tests and ``cryptosense agent eval`` run
anywhere without the internet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.records import (
    Candle,
    Document,
    Label,
    OnchainMetric,
    SentimentScore,
    Signal,
    SignalOutcome,
    SourceFamily,
)
from core.store import Store

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def doc(
    url: str,
    *,
    title: str,
    text: str,
    assets: tuple[str, ...],
    minutes: int,
    family: SourceFamily = SourceFamily.NEWS,
    source: str = "rss:example",
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
    )


def score(
    document_id: str, *, positive: float, negative: float, minutes: int, model_version: str = "m1"
) -> SentimentScore:
    probs = {
        Label.NEGATIVE: negative,
        Label.NEUTRAL: 1 - positive - negative,
        Label.POSITIVE: positive,
    }
    return SentimentScore(
        document_id=document_id,
        model_version=model_version,
        label=max(probs, key=probs.__getitem__),
        p_negative=negative,
        p_neutral=probs[Label.NEUTRAL],
        p_positive=positive,
        scored_at=T0 + timedelta(minutes=minutes),
    )


NOW = T0 + timedelta(days=14)


def _stories() -> list[tuple[str, str, str, tuple[str, ...], float, float]]:
    """(slug, title, text, assets, positive, negative) per story."""
    out: list[tuple[str, str, str, tuple[str, ...], float, float]] = []
    for day in range(14):
        out.append(
            (
                f"btc-{day}",
                f"Bitcoin ETF inflows rise on day {day}",
                "Spot bitcoin funds took in inflows as traders turned bullish.",
                ("BTC",),
                0.5 + day * 0.03,
                0.1,
            )
        )
        out.append(
            (
                f"eth-{day}",
                f"Ethereum upgrade news lifts staking demand, day {day}",
                "Ether staking deposits grew after the upgrade was scheduled.",
                ("ETH",),
                0.6,
                0.05 + day * 0.03,
            )
        )
        if day % 3 == 0:
            out.append(
                (
                    f"etc-{day}",
                    f"Ethereum Classic hash rate steady, report {day}",
                    "Ethereum Classic miners kept hashing at the usual rate.",
                    ("ETC",),
                    0.3,
                    0.2,
                )
            )
    return out


def fill(store: Store) -> None:
    docs, scores = [], []
    for i, (slug, title, text, assets, pos, neg) in enumerate(_stories()):
        minutes = int(i * 14 * 24 * 60 / len(_stories()))
        item = doc(
            f"https://news.example.com/{slug}",
            title=title,
            text=text,
            assets=assets,
            minutes=minutes,
        )
        docs.append(item)
        scores.append(
            score(
                item.id,
                positive=min(pos, 0.9),
                negative=min(neg, 0.9 - min(pos, 0.9)),
                minutes=minutes,
            )
        )
    store.documents.add(docs)
    store.scores.add(scores)
    candles = []
    for asset, base in (("BTC", 60000.0), ("ETH", 3000.0)):
        for h in range(24 * 15):
            ts = T0 - timedelta(days=1) + timedelta(hours=h)
            p = base * (1 + 0.001 * h)
            candles.append(
                Candle(
                    exchange="bitstamp",
                    pair=f"{asset}/USD",
                    timeframe="1h",
                    ts=ts,
                    open=p,
                    high=p * 1.002,
                    low=p * 0.998,
                    close=p * 1.001,
                    volume_base=10.0,
                    ingested_at=ts + timedelta(hours=1),
                )
            )
    store.market.add_candles(candles)
    store.market.add_onchain(
        [
            OnchainMetric(
                asset="BTC",
                day=(T0 + timedelta(days=d)).date(),
                metric="AdrActCnt",
                value=900000.0 + 1000 * d,
                source="coinmetrics",
                ingested_at=T0 + timedelta(days=d + 1),
            )
            for d in range(14)
        ]
    )
    sigs, outs = [], []
    for d in range(10):
        ts = T0 + timedelta(days=d)
        sigs.append(
            Signal(
                asset="BTC",
                ts=ts,
                horizon="1d",
                prob_up=0.6,
                action="long",
                model_version="v1",
                features_asof=ts,
                timeframe="1d",
                position=1.0,
                asof=ts,
                data_age_bars=0.0,
            )
        )
        if d < 8:
            outs.append(
                SignalOutcome(
                    asset="BTC",
                    timeframe="1d",
                    horizon="1d",
                    ts=ts,
                    position=1.0,
                    fill_price=60000.0,
                    exit_price=60500.0,
                    realised_return=0.008,
                    net_return=0.007,
                    hit=1.0 if d % 4 else 0.0,
                    resolved_at=ts + timedelta(days=1),
                )
            )
    store.signals.add(sigs)
    store.signals.add_outcomes(outs)


def store_post(store: Store, kind: str, text: str, *, minutes_before: int = 30) -> Document:
    """One post about ETH ingested ``minutes_before`` NOW, tagged by the collectors' asset
    tagger and scored: how hostile posts of :mod:`agent.injection` enter the store."""
    from collectors.assets import AssetTagger

    at = NOW - timedelta(minutes=minutes_before)
    item = Document.build(
        source="reddit:ethereum",
        family=SourceFamily.REDDIT,
        url=f"https://reddit.example.com/r/ethereum/{kind}",
        title=f"Ethereum driving sentiment {text[:80]}",
        text=text,
        published_at=at,
        ingested_at=at,
        assets=AssetTagger().tag(text) or ("ETH",),
    )
    store.documents.add([item])
    minutes = int((at - T0).total_seconds() // 60)
    store.scores.add([score(item.id, positive=0.8, negative=0.05, minutes=minutes)])
    return item
