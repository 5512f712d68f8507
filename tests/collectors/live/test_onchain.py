"""CoinMetricsCollector (real httpx via HttpFetcher) against a loopback Coin Metrics v4 API.

``tests/data/market/coinmetrics_btc_asset_metrics.json`` holds twelve project-written daily
rows in Coin Metrics' reply format (values as strings, one null). The replay pages them
with ``next_page_token``, honours ``start_time``, and treats the exchange-flow metrics the
way the community tier does: left out with ``ignore_forbidden_errors=true``, 403 without.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from collectors.base import SourceError
from collectors.http import HttpFetcher
from collectors.live.onchain import CoinMetricsCollector
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.settings import Settings, load_settings
from core.store import Store
from core.store.tables import OnchainRow
from tests.loopback import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parents[2] / "data" / "market"
PATH = "/v4/timeseries/asset-metrics"
JSON = {"Content-Type": "application/json"}
METRICS = ["AdrActCnt", "TxCnt", "FeeTotNtv", "HashRate", "FlowInExNtv"]
FORBIDDEN = {"FlowInExNtv"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CoinMetricsReplay:
    def __init__(self, base_url: str, clock: Clock) -> None:
        self.base_url = base_url
        self.clock = clock
        self.rows: list[dict[str, Any]] = json.loads(
            (DATA / "coinmetrics_btc_asset_metrics.json").read_text()
        )["data"]
        self.requests: list[dict[str, str]] = []
        self.override: Reply | None = None
        self.next_url_host: str | None = None  # answer with next_page_url on this host
        self.strict = False  # a server that ignores ignore_forbidden_errors

    def __call__(self, req: Request) -> Reply:
        q = req.query
        self.requests.append(q)
        if self.override is not None:
            return self.override
        asked = q["metrics"].split(",")
        forbidden = [m for m in asked if m in FORBIDDEN]
        if forbidden and (self.strict or q.get("ignore_forbidden_errors") != "true"):
            message = (
                f"Requested metric '{forbidden[0]}' with frequency '1d' for asset "
                f"'{q['assets']}' is not available with supplied credentials."
            )
            return Reply(403, json.dumps({"error": {"type": "forbidden", "message": message}}))
        today = self.clock().date().isoformat()  # the newest row is today's, still open
        rows = [r for r in self.rows if q.get("start_time", "0000") <= r["time"][:10] <= today]
        offset = int(q.get("next_page_token", "0"))
        size = int(q["page_size"])
        page = [
            {k: v for k, v in r.items() if k in ("asset", "time") or k in asked}
            for r in rows[offset : offset + size]
        ]
        body: dict[str, Any] = {"data": page}
        if offset + size < len(rows):
            token = str(offset + size)
            host = self.next_url_host or self.base_url
            if self.next_url_host is None:
                body["next_page_token"] = token
            query = urlencode({k: v for k, v in q.items() if k != "next_page_token"})
            body["next_page_url"] = f"{host}{PATH}?{query}&next_page_token={token}"
        return Reply(200, json.dumps(body), JSON)

    def start_times(self) -> list[str | None]:
        return [q.get("start_time") for q in self.requests]


@pytest.fixture
def replay(loopback: LoopbackServer, clock: Clock) -> CoinMetricsReplay:
    r = CoinMetricsReplay(loopback.base_url, clock)
    loopback.route(PATH, r)
    return r


@pytest.fixture
def cm_settings(settings: Settings, loopback: LoopbackServer) -> Settings:
    return load_settings(
        data_dir=settings.data_dir,
        onchain={"base_url": loopback.url("/v4"), "assets": ["btc"], "metrics": METRICS},
        http={"retries": 1, "backoff_base_s": 0, "timeout_s": 0.5},
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 8, 10, 0, tzinfo=UTC))


def make(
    settings: Settings, clock: Clock, store: Store | None = None, **kw: Any
) -> CoinMetricsCollector:
    kw.setdefault("page_size", 3)
    return CoinMetricsCollector(
        "btc",
        settings=settings.onchain,
        http=settings.http,
        store_lookup=lambda: store,
        clock=clock,
        **kw,
    )


def days(store: Store, metric: str) -> list[date]:
    with store.session() as s:
        rows = s.exec(select(OnchainRow).where(OnchainRow.metric == metric)).all()
        return sorted(r.day for r in rows)


def test_first_poll_follows_pages_and_stores_one_value_per_metric_per_day(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, store: Store
) -> None:
    collector = make(cm_settings, clock, store)
    outcome = run_once(collector, store, cm_settings.http)

    assert outcome.ok
    # days 03-01 .. 03-07 (03-08 is today, still open); HashRate is null on 03-05
    assert outcome.metrics == 7 * 4 - 1
    assert days(store, "TxCnt") == [date(2024, 3, d) for d in range(1, 8)]
    assert date(2024, 3, 5) not in days(store, "HashRate")  # null is missing, not zero
    assert len(replay.requests) == 3  # page_size 3 over 8 rows (03-08 included)
    assert [q.get("next_page_token") for q in replay.requests] == [None, "3", "6"]
    first = replay.requests[0]
    assert first["paging_from"] == "start" and first["frequency"] == "1d"
    assert "start_time" not in first  # nothing stored: whole history
    assert store.market.last_onchain_day("BTC", "coinmetrics") == date(2024, 3, 7)


def test_values_arrive_as_strings_and_are_stored_as_numbers(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay
) -> None:
    result = make(cm_settings, clock).collect({})
    fee = next(m for m in result.metrics if m.metric == "FeeTotNtv" and m.day == date(2024, 3, 2))
    assert fee.value == pytest.approx(27.75)
    assert fee.asset == "BTC" and fee.source == "coinmetrics"


def test_metric_the_community_tier_refuses_warns_and_the_others_carry_on(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, sqlite_store: Store
) -> None:
    collector = make(cm_settings, clock, sqlite_store)
    run_once(collector, sqlite_store, cm_settings.http)

    (warning,) = sqlite_store.sources.warnings(collector.name)
    assert warning.reason == "metric-unavailable" and "FlowInExNtv" in warning.detail
    cursor = sqlite_store.sources.state(collector.name).cursor
    assert cursor["refused"] == {"FlowInExNtv": "2024-03-08"}

    clock.now += timedelta(days=2)
    run_once(collector, sqlite_store, cm_settings.http)
    assert "FlowInExNtv" not in replay.requests[-1]["metrics"].split(",")  # left out a week


def test_second_poll_asks_only_for_days_after_the_newest_stored(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, store: Store
) -> None:
    collector = make(cm_settings, clock, store)
    run_once(collector, store, cm_settings.http)
    before = len(replay.requests)

    clock.now += timedelta(days=3)  # 03-11: days 03-08 .. 03-10 are closed now
    outcome = run_once(collector, store, cm_settings.http)

    assert replay.start_times()[before] == "2024-03-08"
    assert outcome.metrics == 3 * 4
    assert days(store, "AdrActCnt") == [date(2024, 3, d) for d in range(1, 11)]


def test_poll_on_the_day_after_the_last_closed_day_makes_no_request(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, store: Store
) -> None:
    collector = make(cm_settings, clock, store)
    run_once(collector, store, cm_settings.http)
    before = len(replay.requests)
    outcome = run_once(collector, store, cm_settings.http)
    assert outcome.ok and outcome.metrics == 0 and len(replay.requests) == before


def test_restart_without_cursor_resumes_from_the_store(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, sqlite_store: Store
) -> None:
    result = make(cm_settings, clock, sqlite_store).collect({})
    sqlite_store.market.add_onchain(list(result.metrics))  # crash before the cursor was saved

    clock.now += timedelta(days=2)
    restarted = make(cm_settings, clock, sqlite_store)
    run_once(restarted, sqlite_store, cm_settings.http)

    assert replay.start_times()[-1] == "2024-03-08"
    assert days(sqlite_store, "TxCnt") == [date(2024, 3, d) for d in range(1, 10)]


def test_server_refusing_the_combined_request_falls_back_to_one_request_per_metric(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay
) -> None:
    replay.strict = True
    result = make(cm_settings, clock, page_size=10).collect({})

    assert {m.metric for m in result.metrics} == {"AdrActCnt", "TxCnt", "FeeTotNtv", "HashRate"}
    assert len(result.metrics) == 7 * 4 - 1
    assert [w.reason for w in result.warnings] == ["metric-unavailable"]
    assert result.cursor is not None and list(result.cursor["refused"]) == ["FlowInExNtv"]
    assert [q["metrics"] for q in replay.requests[1:]] == METRICS  # then one per metric


def test_rate_limit_429_is_retried_after_retry_after_then_fails_and_is_counted(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, store: Store
) -> None:
    replay.override = Reply(429, '{"error":{"type":"rate_limit"}}', {"Retry-After": "6"})
    slept: list[float] = []
    fetcher = HttpFetcher(cm_settings.http, source="onchain:coinmetrics:btc", sleep=slept.append)
    collector = make(cm_settings, clock, store, fetcher=fetcher)

    outcome = run_once(collector, store, cm_settings.http)

    assert not outcome.ok and outcome.error is not None and outcome.error.startswith("http-429")
    assert slept == [6.0] and len(replay.requests) == 2
    assert store.sources.state(collector.name).consecutive_failures == 1


CUT = json.dumps({"data": [{"asset": "btc"}] * 9})


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, "Internal Server Error"), "http-500"),
        (Reply(200, "{}", JSON, delay_s=1.2), "timeout"),
        (Reply(200, '{"data": [{"asset": "btc", "time": "2024-03-01', JSON), "bad-json"),
        (
            Reply(200, json.dumps({"data": [{"asset": "btc"}] * 20}), JSON, truncate_to=50),
            "truncated-body",
        ),
        (Reply(200, "<html>maintenance</html>", {"Content-Type": "text/html"}), "bad-json"),
    ],
    ids=["500", "timeout", "truncated-json", "cut-transfer", "html"],
)
def test_failed_request_raises_source_error_with_reason(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, reply: Reply, reason: str
) -> None:
    replay.override = reply
    with pytest.raises(SourceError) as err:
        make(cm_settings, clock).collect({})
    assert err.value.reason == reason


def test_next_page_url_on_another_host_is_not_followed(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay
) -> None:
    replay.next_url_host = "http://203.0.113.9:9"
    result = make(cm_settings, clock).collect({})

    assert len(replay.requests) == 1
    assert {m.day for m in result.metrics} == {date(2024, 3, d) for d in (1, 2, 3)}
    assert [w.reason for w in result.warnings] == ["foreign-next-page", "metric-unavailable"]


def test_next_page_url_on_our_host_is_followed(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay, loopback: LoopbackServer
) -> None:
    replay.next_url_host = loopback.base_url
    result = make(cm_settings, clock).collect({})
    assert len(replay.requests) == 3
    assert len({m.day for m in result.metrics}) == 7


def test_since_option_sets_the_first_day_asked_for(
    cm_settings: Settings, clock: Clock, replay: CoinMetricsReplay
) -> None:
    (collector,) = build_source(
        "onchain", cm_settings, CollectOptions(since=datetime(2024, 3, 6, tzinfo=UTC))
    )
    assert isinstance(collector, CoinMetricsCollector)
    collector.clock = clock
    result = collector.collect({})
    assert replay.start_times() == ["2024-03-06"]
    assert {m.day for m in result.metrics} == {date(2024, 3, 6), date(2024, 3, 7)}


def test_build_collectors_makes_one_per_configured_asset(settings: Settings) -> None:
    names = [c.name for c in build_source("onchain", settings, CollectOptions())]
    assert names == ["onchain:coinmetrics:btc", "onchain:coinmetrics:eth"]
