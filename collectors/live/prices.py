"""OHLCV candles from an exchange's public endpoints through ccxt (no API key).

One :class:`CcxtPriceCollector` per exchange, pair and timeframe. Each poll continues after
the newest stored candle (``store.market.last_candle_ts``) or the saved cursor, pages forward
with ``since``, and drops the still-open newest candle, so a restart never leaves a gap or a
duplicate and a half-formed candle is never stored. Network trouble is retried with backoff
(``Retry-After`` honoured on 429) and then raised as :class:`SourceError` with a stable
reason for the runner's circuit breaker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import ccxt
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from collectors.base import Collector, CollectResult, SourceError
from collectors.http import MAX_RETRY_AFTER_S, parse_retry_after
from collectors.market import (
    PairError,
    StoreLookup,
    from_epoch,
    iso,
    split_pair,
    timeframe_seconds,
)
from collectors.registry import CollectOptions
from core.records import Candle, IngestWarning
from core.settings import ConfigError, HttpSettings, PriceSettings
from core.times import utcnow

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000
MAX_PAGES_PER_POLL = 10
INITIAL_CANDLES = 1000

# Most specific first: every network-level error is also a ccxt NetworkError.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (ccxt.RateLimitExceeded, "rate-limited"),
    (ccxt.DDoSProtection, "rate-limited"),
    (ccxt.RequestTimeout, "timeout"),
    (ccxt.ExchangeNotAvailable, "exchange-unavailable"),
    (ccxt.NetworkError, "network-error"),
    (ccxt.BadResponse, "bad-response"),
    (ccxt.BadSymbol, "unknown-pair"),
    (ccxt.BaseError, "exchange-error"),
)


def reason_for(err: Exception) -> str:
    """A short stable code for a ccxt error (shown in ``cryptosense sources``)."""
    return next((code for kind, code in _REASONS if isinstance(err, kind)), "exchange-error")


def make_exchange(prices: PriceSettings, http: HttpSettings) -> ccxt.Exchange:
    """A ccxt client for ``prices.exchange`` with the project's timeout and user agent.

    ``prices.api_url`` replaces every entry of the exchange's ``urls['api']``, which points
    the real client at a proxy or a local replay (the tests' loopback server).
    """
    name = prices.exchange.strip().lower()
    cls = getattr(ccxt, name, None) if name in ccxt.exchanges else None
    if cls is None:
        raise ConfigError(f"prices.exchange: ccxt knows no exchange {name!r}")
    exchange: ccxt.Exchange = cls(
        {
            "timeout": int(http.timeout_s * 1000),
            "enableRateLimit": True,
            "userAgent": http.user_agent,
        }
    )
    # Lets a collector tell an unparseable body (ccxt returns the raw text) from no candles.
    exchange.enableLastJsonResponse = True
    exchange.enableLastResponseHeaders = True
    if prices.api_url:
        exchange.urls["api"] = _replace_urls(exchange.urls.get("api"), prices.api_url)
    return exchange


def _replace_urls(api: Any, base: str) -> Any:
    if isinstance(api, dict):
        return {key: _replace_urls(value, base) for key, value in api.items()}
    return base.rstrip("/")


def normalise_pair(pair: str) -> str:
    try:
        base, quote = split_pair(pair)
    except PairError as err:
        raise ConfigError(f"prices.pairs: {err}") from None
    return f"{base}/{quote}"


class CcxtPriceCollector:
    """Closed OHLCV candles of one pair and timeframe from one exchange, incrementally."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        pair: str,
        timeframe: str,
        *,
        http: HttpSettings,
        interval_s: float = 900.0,
        store_lookup: StoreLookup | None = None,
        since: datetime | None = None,
        page_limit: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES_PER_POLL,
        initial_candles: int = INITIAL_CANDLES,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange = exchange
        self.pair = normalise_pair(pair)
        self.timeframe = timeframe
        self.step_ms = timeframe_seconds(timeframe) * 1000
        if exchange.timeframes and timeframe not in exchange.timeframes:
            raise ConfigError(
                f"prices.timeframes: {exchange.id} has no {timeframe!r} candles; "
                f"it offers {', '.join(exchange.timeframes)}"
            )
        self.name = f"prices:{exchange.id}:{self.pair}:{timeframe}"
        self.interval_s = interval_s
        self.http = http
        self.store_lookup = store_lookup
        self._since = since
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.initial_candles = initial_candles
        self.clock = clock
        self.sleep = sleep

    # -- position ------------------------------------------------------------------------

    def _start_ms(self, cursor: Mapping[str, Any], now_ms: int) -> int:
        """Open time of the first candle to ask for.

        An explicit ``since`` wins once; otherwise the later of the stored newest candle and
        the cursor; on a first run, the last ``initial_candles`` candles.
        """
        if self._since is not None:
            since, self._since = self._since, None
            return self._align(int(since.timestamp() * 1000))
        known: list[int] = []
        if cursor.get("next_since"):
            known.append(int(datetime.fromisoformat(cursor["next_since"]).timestamp() * 1000))
        store = self.store_lookup() if self.store_lookup else None
        if store is not None:
            last = store.market.last_candle_ts(self.exchange.id, self.pair, self.timeframe)
            if last is not None:
                known.append(int(last.timestamp() * 1000) + self.step_ms)
        if known:
            return max(known)
        return self._align(now_ms - self.initial_candles * self.step_ms)

    def _align(self, ms: int) -> int:
        return ms - ms % self.step_ms

    # -- fetching ------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        base = wait_exponential_jitter(
            multiplier=self.http.backoff_base_s, max=60, jitter=self.http.backoff_base_s
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            headers = self.exchange.last_response_headers or {}
            value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
            after = parse_retry_after(value)
            if after is not None:
                return min(MAX_RETRY_AFTER_S, max(base, after))
        return base

    def _fetch_once(self, since_ms: int) -> list[list[Any]]:
        self.exchange.last_json_response = None
        rows = self.exchange.fetch_ohlcv(
            self.pair, self.timeframe, since=since_ms, limit=self.page_limit
        )
        if self.exchange.last_json_response is None:
            raise ccxt.BadResponse(f"{self.exchange.id}: the OHLCV reply is not JSON")
        return list(rows)

    def _fetch_page(self, since_ms: int) -> list[list[Any]]:
        retrying = Retrying(
            stop=stop_after_attempt(self.http.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(ccxt.NetworkError),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(self._fetch_once, since_ms)
        except ccxt.BaseError as err:
            raise SourceError(self.name, reason_for(err), str(err)[:500]) from None

    # -- records -------------------------------------------------------------------------

    def _candle(self, row: list[Any], now: datetime) -> Candle | str:
        """A Candle, or the reason the row is unusable."""
        if len(row) < 6 or any(v is None for v in row[:6]):
            return "incomplete row"
        ts, o, h, lo, c, vol = row[:6]
        if min(o, h, lo, c) <= 0 or vol < 0:
            return f"non-positive price or negative volume: {row[:6]}"
        return Candle(
            exchange=self.exchange.id,
            pair=self.pair,
            timeframe=self.timeframe,
            ts=from_epoch(int(ts) / 1000),
            open=float(o),
            high=float(max(o, h, lo, c)),
            low=float(min(o, h, lo, c)),
            close=float(c),
            volume_base=float(vol),
            ingested_at=now,
        )

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        now = self.clock()
        now_ms = int(now.timestamp() * 1000)
        start = self._start_ms(cursor, now_ms)
        seen_any = bool(cursor.get("last_ts")) or self._stored_any()
        candles: dict[int, Candle] = {}
        warnings: list[IngestWarning] = []
        pages = 0
        while pages < self.max_pages and start + self.step_ms <= now_ms:
            try:
                rows = self._fetch_page(start)
            except SourceError as err:
                if pages == 0:
                    raise
                # Keep what earlier pages brought; the next poll resumes after them.
                warnings.append(
                    IngestWarning(source=self.name, reason=err.reason, detail=err.detail)
                )
                break
            pages += 1
            following = self._take(rows, start, now, candles, warnings)
            if following is None:
                following = self._skip_empty(start, now_ms, seen_any or bool(candles), warnings)
            if following is None or following <= start:
                break
            start = following
        result = sorted(candles.values(), key=lambda c: c.ts)
        new_cursor: dict[str, Any] = {"next_since": iso(from_epoch(start / 1000))}
        last_ts = iso(result[-1].ts) if result else cursor.get("last_ts")
        if last_ts:
            new_cursor["last_ts"] = last_ts
        return CollectResult(
            candles=tuple(result),
            warnings=tuple(warnings),
            cursor=new_cursor,
            more=start + self.step_ms <= now_ms and pages == self.max_pages,
            extra={"pages": pages},
        )

    def _stored_any(self) -> bool:
        store = self.store_lookup() if self.store_lookup else None
        if store is None:
            return False
        return store.market.last_candle_ts(self.exchange.id, self.pair, self.timeframe) is not None

    def _take(
        self,
        rows: list[list[Any]],
        start: int,
        now: datetime,
        out: dict[int, Candle],
        warnings: list[IngestWarning],
    ) -> int | None:
        """Add the page's closed candles to ``out``; return where the next page starts.

        None when the page held no closed candle at or after ``start``.
        """
        now_ms = int(now.timestamp() * 1000)
        newest: int | None = None
        for row in rows:
            ts = row[0] if row else None
            if ts is None or ts < start or ts + self.step_ms > now_ms:
                continue  # before the window (exchange padding) or still open
            candle = self._candle(row, now)
            if isinstance(candle, str):
                warnings.append(IngestWarning(source=self.name, reason="bad-candle", detail=candle))
            else:
                out[int(ts)] = candle
            newest = int(ts) if newest is None else max(newest, int(ts))
        return None if newest is None else newest + self.step_ms

    def _skip_empty(
        self, start: int, now_ms: int, seen_any: bool, warnings: list[IngestWarning]
    ) -> int | None:
        """Where to go after a page without closed candles.

        Before the series' first candle (a pair listed later than ``since``) the empty window
        is skipped. Once candles have been seen, an empty page is not trusted to mean "no
        trades": the poll stops without moving, so a glitch can never open a gap.
        """
        if seen_any:
            if start + self.page_limit * self.step_ms <= now_ms:
                warnings.append(
                    IngestWarning(
                        source=self.name,
                        reason="empty-page",
                        detail=f"no candles from {iso(from_epoch(start / 1000))}; "
                        "asked again next poll",
                    )
                )
            return None
        return min(start + self.page_limit * self.step_ms, self._align(now_ms))

    def __repr__(self) -> str:
        return f"CcxtPriceCollector({self.name})"


def build_collectors(
    prices: PriceSettings, http: HttpSettings, store_lookup: StoreLookup, options: CollectOptions
) -> list[Collector]:
    """One collector per configured pair and timeframe (or the one asked for)."""
    pairs = (options.pair,) if options.pair else prices.pairs
    timeframes = (options.timeframe,) if options.timeframe else prices.timeframes
    exchange = make_exchange(prices, http)
    collectors: list[Collector] = []
    for pair in pairs:
        for timeframe in timeframes:
            try:
                timeframe_seconds(timeframe)
            except ValueError as err:
                raise ConfigError(f"prices.timeframes: {err}") from None
            collectors.append(
                CcxtPriceCollector(
                    exchange,
                    pair,
                    timeframe,
                    http=http,
                    interval_s=prices.interval_s,
                    store_lookup=store_lookup,
                    since=options.since,
                )
            )
    return collectors
