"""The real ccxt Bitstamp client against a loopback replay of Bitstamp's public API.

``tests/data/market/`` holds project-written replies in Bitstamp's format (markets list and
97 hourly BTC/USD candles); the replay answers ``/api/v2/ohlc/btcusd/`` by slicing them with
the request's ``start``/``end``/``limit``, and serves only candles that have opened by the
test's clock, the newest being the still-open one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from collectors.base import SourceError
from collectors.live.prices import CcxtPriceCollector, make_exchange
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.settings import ConfigError, PriceSettings, Settings, load_settings
from core.store import Store
from tests.loopback import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parents[2] / "data" / "market"
FIRST = datetime(2024, 2, 27, tzinfo=UTC)  # first candle in the recording
JSON = {"Content-Type": "application/json"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class BitstampReplay:
    """Serves the recorded markets and candles the way Bitstamp's v2 API does."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.candles: list[dict[str, str]] = json.loads(
            (DATA / "exchange_ohlc_btcusd_1h_reply.json").read_text()
        )["data"]["ohlc"]
        self.ohlc_requests: list[dict[str, str]] = []
        self.override: Reply | None = None
        self.fail_after: int | None = None  # answer 500 once this many OHLC pages were served

    def markets(self, _req: Request) -> Reply:
        return Reply(200, (DATA / "exchange_markets_reply.json").read_bytes(), JSON)

    def ohlc(self, req: Request) -> Reply:
        self.ohlc_requests.append(req.query)
        if self.override is not None:
            return self.override
        if self.fail_after is not None and len(self.ohlc_requests) > self.fail_after:
            return Reply(500, "Internal Server Error")
        assert req.query["step"] == "3600"
        start, end = int(req.query["start"]), int(req.query["end"])
        limit = int(req.query["limit"])
        now = self.clock().timestamp()
        rows = [c for c in self.candles if start <= int(c["timestamp"]) <= min(end, now)][:limit]
        body = {"data": {"pair": "BTC/USD", "ohlc": rows}}
        return Reply(200, json.dumps(body), JSON)

    def starts(self) -> list[datetime]:
        return [datetime.fromtimestamp(int(q["start"]), UTC) for q in self.ohlc_requests]


@pytest.fixture
def clock() -> Clock:
    return Clock(FIRST + timedelta(hours=48, minutes=30))  # 2024-02-29 00:30


@pytest.fixture
def replay(loopback: LoopbackServer, clock: Clock) -> BitstampReplay:
    r = BitstampReplay(clock)
    loopback.route("/api/v2/markets/", r.markets)
    loopback.route("/api/v2/ohlc/btcusd/", r.ohlc)
    return r


@pytest.fixture
def market_settings(settings: Settings, loopback: LoopbackServer) -> Settings:
    return load_settings(
        data_dir=settings.data_dir,
        prices={"api_url": loopback.url("/api"), "pairs": ["BTC/USD"], "timeframes": ["1h"]},
        http={"retries": 1, "backoff_base_s": 0, "timeout_s": 0.5},
    )


def make_collector(
    settings: Settings,
    clock: Clock,
    store: Store | None = None,
    *,
    sleep: Callable[[float], None] = lambda _s: None,
    **kw: Any,
) -> CcxtPriceCollector:
    kw.setdefault("page_limit", 10)
    kw.setdefault("initial_candles", 24)
    return CcxtPriceCollector(
        make_exchange(settings.prices, settings.http),
        "BTC/USD",
        "1h",
        http=settings.http,
        store_lookup=(lambda: store),
        clock=clock,
        sleep=sleep,
        **kw,
    )


def hours(candles: list[Any]) -> list[datetime]:
    return [c.ts for c in candles]


def contiguous(stamps: list[datetime]) -> bool:
    return all(b - a == timedelta(hours=1) for a, b in pairwise(stamps))


def test_first_poll_pages_with_since_and_drops_the_open_candle(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, store: Store
) -> None:
    collector = make_collector(market_settings, clock, store)
    outcome = run_once(collector, store, market_settings.http)

    assert outcome.ok and outcome.candles == 24
    stored = store.market.candles("bitstamp", "BTC/USD", "1h")
    assert hours(stored)[0] == datetime(2024, 2, 28, tzinfo=UTC)
    assert hours(stored)[-1] == datetime(2024, 2, 28, 23, tzinfo=UTC)  # 00:00 is still open
    assert contiguous(hours(stored))
    # three pages of ten, each starting right after the previous one's newest candle
    assert replay.starts()[:3] == [
        datetime(2024, 2, 28, tzinfo=UTC),
        datetime(2024, 2, 28, 10, tzinfo=UTC),
        datetime(2024, 2, 28, 20, tzinfo=UTC),
    ]
    first = stored[0]
    assert (first.open, first.close, first.volume_base) == (51702.28, 51907.9, 67.90411522)
    assert first.exchange == "bitstamp" and first.ingested_at.tzinfo is not None


def test_second_poll_fetches_only_the_new_candles(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, store: Store
) -> None:
    collector = make_collector(market_settings, clock, store)
    run_once(collector, store, market_settings.http)
    before = len(replay.ohlc_requests)

    clock.now += timedelta(hours=3)
    outcome = run_once(collector, store, market_settings.http)

    assert outcome.ok and outcome.candles == 3
    assert replay.starts()[before] == datetime(2024, 2, 29, tzinfo=UTC)
    stored = hours(store.market.candles("bitstamp", "BTC/USD", "1h"))
    assert len(stored) == 27 and len(set(stored)) == 27 and contiguous(stored)
    assert store.sources.state(collector.name).cursor["next_since"] == "2024-02-29T03:00:00Z"


def test_poll_with_nothing_closed_since_last_time_asks_once_and_stores_nothing(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, store: Store
) -> None:
    collector = make_collector(market_settings, clock, store)
    run_once(collector, store, market_settings.http)
    before = len(replay.ohlc_requests)

    clock.now += timedelta(minutes=20)  # still inside the open 00:00 candle
    outcome = run_once(collector, store, market_settings.http)

    assert outcome.ok and outcome.candles == 0
    assert len(replay.ohlc_requests) == before  # no closed candle can exist yet: no request


def test_restart_after_a_crash_between_store_and_cursor_has_no_gap_or_duplicate(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, sqlite_store: Store
) -> None:
    first = make_collector(market_settings, clock, sqlite_store)
    result = first.collect({})
    sqlite_store.market.add_candles(list(result.candles))  # the process dies before the cursor save

    clock.now += timedelta(hours=5)
    restarted = make_collector(market_settings, clock, sqlite_store)  # fresh client, no cursor
    outcome = run_once(restarted, sqlite_store, market_settings.http)

    assert outcome.ok and outcome.candles == 5
    stored = hours(sqlite_store.market.candles("bitstamp", "BTC/USD", "1h"))
    assert len(stored) == 29 and contiguous(stored)


def test_page_failure_mid_poll_keeps_earlier_pages_and_next_poll_fills_the_rest(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, sqlite_store: Store
) -> None:
    replay.fail_after = 1
    collector = make_collector(market_settings, clock, sqlite_store)
    outcome = run_once(collector, sqlite_store, market_settings.http)
    assert outcome.ok and outcome.candles == 10 and outcome.warnings == 1
    assert sqlite_store.sources.warnings(collector.name)[0].reason == "exchange-unavailable"

    replay.fail_after = None
    run_once(collector, sqlite_store, market_settings.http)
    stored = hours(sqlite_store.market.candles("bitstamp", "BTC/USD", "1h"))
    assert len(stored) == 24 and contiguous(stored)


def test_rate_limit_429_honours_retry_after_then_fails_as_rate_limited(
    market_settings: Settings, clock: Clock, replay: BitstampReplay, store: Store
) -> None:
    replay.override = Reply(429, "Too Many Requests", {"Retry-After": "7"})
    slept: list[float] = []
    collector = make_collector(market_settings, clock, store, sleep=slept.append)

    outcome = run_once(collector, store, market_settings.http)

    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith("rate-limited")
    assert len(replay.ohlc_requests) == 2  # one retry (http.retries = 1)
    assert slept == [7.0]
    assert store.sources.state(collector.name).consecutive_failures == 1
    assert store.market.candles("bitstamp", "BTC/USD", "1h") == []


def test_server_error_500_becomes_exchange_unavailable(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    replay.override = Reply(500, "Internal Server Error")
    with pytest.raises(SourceError) as err:
        make_collector(market_settings, clock).collect({})
    assert err.value.reason == "exchange-unavailable"
    assert "500" in err.value.detail


def test_slow_exchange_times_out(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    replay.override = Reply(200, "{}", JSON, delay_s=1.2)
    with pytest.raises(SourceError) as err:
        make_collector(market_settings, clock).collect({})
    assert err.value.reason == "timeout"


def test_body_cut_off_mid_transfer_is_a_network_error(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    body = json.dumps({"data": {"pair": "BTC/USD", "ohlc": replay.candles[:5]}})
    replay.override = Reply(200, body, JSON, truncate_to=60)
    with pytest.raises(SourceError) as err:
        make_collector(market_settings, clock).collect({})
    assert err.value.reason == "network-error"


def test_truncated_json_body_is_refused_not_read_as_no_candles(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    body = json.dumps({"data": {"pair": "BTC/USD", "ohlc": replay.candles[:5]}})
    replay.override = Reply(200, body[:70], JSON)  # complete transfer of a cut document
    with pytest.raises(SourceError) as err:
        make_collector(market_settings, clock).collect({})
    assert err.value.reason == "bad-response"


def test_pair_the_exchange_does_not_list_is_unknown_pair(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    collector = CcxtPriceCollector(
        make_exchange(market_settings.prices, market_settings.http),
        "DOGE/USD",
        "1h",
        http=market_settings.http,
        clock=clock,
    )
    with pytest.raises(SourceError) as err:
        collector.collect({})
    assert err.value.reason == "unknown-pair"


def test_candle_with_zero_price_is_skipped_with_a_warning(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    bad = dict(replay.candles[30], low="0")
    replay.candles[30] = bad
    result = make_collector(market_settings, clock).collect({})
    assert len(result.candles) == 23
    assert [w.reason for w in result.warnings] == ["bad-candle"]


def test_build_collectors_honours_pair_timeframe_and_since(
    market_settings: Settings, clock: Clock, replay: BitstampReplay
) -> None:
    since = datetime(2024, 2, 28, 18, 10, tzinfo=UTC)
    (collector,) = build_source(
        "prices", market_settings, CollectOptions(pair="btc/usd", timeframe="1h", since=since)
    )
    assert collector.name == "prices:bitstamp:BTC/USD:1h"
    assert isinstance(collector, CcxtPriceCollector)
    collector.clock = clock
    result = collector.collect({})
    assert replay.starts()[0] == datetime(2024, 2, 28, 18, tzinfo=UTC)
    assert [c.ts.hour for c in result.candles] == [18, 19, 20, 21, 22, 23]


def test_build_collectors_makes_one_per_pair_and_timeframe(settings: Settings) -> None:
    names = [c.name for c in build_source("prices", settings, CollectOptions())]
    assert names == [
        "prices:bitstamp:BTC/USD:1h",
        "prices:bitstamp:BTC/USD:1d",
        "prices:bitstamp:ETH/USD:1h",
        "prices:bitstamp:ETH/USD:1d",
    ]


def test_unknown_exchange_or_timeframe_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="no exchange 'nope'"):
        make_exchange(PriceSettings(exchange="nope"), settings.http)
    with pytest.raises(ConfigError, match=r"prices\.timeframes"):
        build_source("prices", settings, CollectOptions(timeframe="7x"))
