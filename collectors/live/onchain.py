"""Daily network metrics from the Coin Metrics community API v4 (no key).

One :class:`CoinMetricsCollector` per asset asks ``/timeseries/asset-metrics`` for the
configured metrics (active addresses, transactions, fees, hash rate, exchange flows),
starting the day after the newest stored day, paging forward with ``next_page_token``.
Values arrive as strings and become one :class:`OnchainMetric` per metric per day. The
community tier refuses some metrics (exchange flows are Pro-only): such a metric gets a
warning and is left out for a week while the others carry on.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from collectors.base import Collector, CollectResult, SourceError
from collectors.http import HttpFetcher
from collectors.market import StoreLookup
from collectors.registry import CollectOptions
from core.records import IngestWarning, OnchainMetric
from core.settings import HttpSettings, OnchainSettings
from core.times import utcnow

log = logging.getLogger(__name__)

SOURCE = "coinmetrics"
PAGE_SIZE = 1000
MAX_PAGES_PER_POLL = 20
REPROBE_AFTER = timedelta(days=7)
REFUSED_STATUS = frozenset({"http-400", "http-403"})


@dataclass
class _Series:
    """Rows of one request, followed across pages."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    more: bool = False
    warnings: list[IngestWarning] = field(default_factory=list)


class CoinMetricsCollector:
    """Daily metrics of one asset, incrementally from the newest stored day."""

    def __init__(
        self,
        asset: str,
        *,
        settings: OnchainSettings,
        http: HttpSettings,
        fetcher: HttpFetcher | None = None,
        store_lookup: StoreLookup | None = None,
        since: date | None = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES_PER_POLL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.asset = asset.strip().lower()
        self.symbol = self.asset.upper()
        self.name = f"onchain:{SOURCE}:{self.asset}"
        self.interval_s = settings.interval_s
        self.url = settings.base_url.rstrip("/") + "/timeseries/asset-metrics"
        self.metrics = tuple(settings.metrics)
        self.fetcher = fetcher or HttpFetcher(http, source=self.name)
        self.store_lookup = store_lookup
        self._since = since
        self.page_size = page_size
        self.max_pages = max_pages
        self.clock = clock

    def close(self) -> None:
        self.fetcher.close()

    # -- position ------------------------------------------------------------------------

    def _start_day(self, cursor: Mapping[str, Any]) -> date | None:
        """First day to ask for: explicit ``since`` once, else the day after what is known."""
        if self._since is not None:
            since, self._since = self._since, None
            return since
        known: list[date] = []
        if cursor.get("last_day"):
            known.append(date.fromisoformat(cursor["last_day"]))
        store = self.store_lookup() if self.store_lookup else None
        if store is not None and (last := store.market.last_onchain_day(self.symbol, SOURCE)):
            known.append(last)
        return max(known) + timedelta(days=1) if known else None

    def _active_metrics(self, cursor: Mapping[str, Any], today: date) -> list[str]:
        refused = cursor.get("refused") or {}
        return [
            m
            for m in self.metrics
            if m not in refused or date.fromisoformat(refused[m]) + REPROBE_AFTER <= today
        ]

    # -- fetching ------------------------------------------------------------------------

    def _params(self, metrics: Sequence[str], start: date | None) -> dict[str, str]:
        params = {
            "assets": self.asset,
            "metrics": ",".join(metrics),
            "frequency": "1d",
            "page_size": str(self.page_size),
            "paging_from": "start",
            # A metric the tier or asset lacks is left out of the rows instead of failing
            # the whole request; absence is then reported per metric.
            "ignore_forbidden_errors": "true",
            "ignore_unsupported_errors": "true",
        }
        if start is not None:
            params["start_time"] = start.isoformat()
        return params

    def _get_json(self, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        result = self.fetcher.get(url, params=params)
        if result.truncated:
            raise SourceError(self.name, "truncated-body", f"{url}: reply cut off")
        try:
            body = json.loads(result.content)
        except ValueError as err:
            raise SourceError(self.name, "bad-json", f"{url}: {err}") from None
        if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
            raise SourceError(self.name, "bad-json", f"{url}: no 'data' list in the reply")
        return body

    def _next_request(
        self, body: Mapping[str, Any], params: dict[str, str]
    ) -> tuple[str, dict[str, str]] | None:
        """The next page: our own URL plus the token, or next_page_url on the same host."""
        if token := body.get("next_page_token"):
            return self.url, {**params, "next_page_token": str(token)}
        if url := body.get("next_page_url"):
            ours, theirs = urlsplit(self.url), urlsplit(str(url))
            if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
                raise SourceError(self.name, "foreign-next-page", f"next_page_url {url}")
            base = f"{theirs.scheme}://{theirs.netloc}{theirs.path}"
            return base, dict(parse_qsl(theirs.query, keep_blank_values=True))
        return None

    def _fetch(self, metrics: Sequence[str], start: date | None) -> _Series:
        series = _Series()
        request: tuple[str, dict[str, str]] | None = (self.url, self._params(metrics, start))
        while request is not None and series.pages < self.max_pages:
            try:
                body = self._get_json(*request)
                series.pages += 1
                series.rows.extend(r for r in body.get("data", []) if isinstance(r, dict))
                request = self._next_request(body, request[1])
            except SourceError as err:
                if series.pages == 0:
                    raise
                # Keep the pages already read; the next poll resumes after them.
                series.warnings.append(
                    IngestWarning(source=self.name, reason=err.reason, detail=err.detail)
                )
                return series
        series.more = request is not None
        return series

    def _fetch_each(self, metrics: Sequence[str], start: date | None) -> tuple[_Series, list[str]]:
        """Fallback when the combined request is refused: one request per metric."""
        merged = _Series()
        refused: list[str] = []
        by_day: dict[str, dict[str, Any]] = {}
        for metric in metrics:
            try:
                one = self._fetch([metric], start)
            except SourceError as err:
                if err.reason not in REFUSED_STATUS:
                    raise
                refused.append(metric)
                continue
            merged.pages += one.pages
            merged.more = merged.more or one.more
            merged.warnings.extend(one.warnings)
            for row in one.rows:
                by_day.setdefault(str(row.get("time")), {}).update(row)
        if len(refused) == len(metrics):
            raise SourceError(self.name, "metrics-refused", ", ".join(refused))
        merged.rows = [by_day[t] for t in sorted(by_day)]
        return merged, refused

    # -- records -------------------------------------------------------------------------

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        now = self.clock()
        today = now.date()
        start = self._start_day(cursor)
        metrics = self._active_metrics(cursor, today)
        refused_map: dict[str, str] = dict(cursor.get("refused") or {})
        if not metrics or (start is not None and start >= today):
            return CollectResult(cursor=dict(cursor))  # nothing closed to ask for yet
        refused: list[str] = []
        try:
            series = self._fetch(metrics, start)
        except SourceError as err:
            if err.reason not in REFUSED_STATUS or len(metrics) == 1:
                raise
            series, refused = self._fetch_each(metrics, start)
        records, warnings, last_day = self._records(series.rows, metrics, now)
        present = {m for row in series.rows for m in metrics if m in row}
        if series.rows:
            refused += [m for m in metrics if m not in present and m not in refused]
        for metric in refused:
            refused_map[metric] = today.isoformat()
            warnings.append(
                IngestWarning(
                    source=self.name,
                    reason="metric-unavailable",
                    detail=f"{metric} for {self.asset}: refused or not offered by this tier; "
                    f"asked again after {REPROBE_AFTER.days} days",
                )
            )
        for metric in present:
            refused_map.pop(metric, None)
        new_cursor: dict[str, Any] = {"refused": refused_map}
        if last_day is not None:
            new_cursor["last_day"] = last_day.isoformat()
        elif cursor.get("last_day"):
            new_cursor["last_day"] = cursor["last_day"]
        return CollectResult(
            metrics=tuple(records),
            warnings=tuple(series.warnings + warnings),
            cursor=new_cursor,
            more=series.more,
            extra={"pages": series.pages},
        )

    def _records(
        self, rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], now: datetime
    ) -> tuple[list[OnchainMetric], list[IngestWarning], date | None]:
        records: list[OnchainMetric] = []
        warnings: list[IngestWarning] = []
        last_day: date | None = None
        for row in rows:
            day = self._row_day(row, now.date(), warnings)
            if day is None:
                continue
            last_day = day if last_day is None else max(last_day, day)
            for metric in metrics:
                if metric not in row:
                    continue
                value = _value(row[metric])
                if value is None:
                    if row[metric] is not None:
                        warnings.append(
                            IngestWarning(
                                source=self.name,
                                reason="bad-value",
                                detail=f"{day} {metric}={str(row[metric])[:40]!r}",
                            )
                        )
                    continue
                records.append(
                    OnchainMetric(
                        asset=self.symbol,
                        day=day,
                        metric=metric,
                        value=value,
                        source=SOURCE,
                        ingested_at=now,
                    )
                )
        return records, warnings, last_day

    def _row_day(
        self, row: Mapping[str, Any], today: date, warnings: list[IngestWarning]
    ) -> date | None:
        """The row's day; None (with a warning) for a bad row, silently for today's open day."""
        if str(row.get("asset", self.asset)).lower() != self.asset:
            warnings.append(
                IngestWarning(source=self.name, reason="wrong-asset", detail=str(row.get("asset")))
            )
            return None
        raw = str(row.get("time", ""))
        try:
            day = date.fromisoformat(raw[:10])
        except ValueError:
            warnings.append(IngestWarning(source=self.name, reason="bad-date", detail=raw[:60]))
            return None
        return day if day < today else None

    def __repr__(self) -> str:
        return f"CoinMetricsCollector({self.name})"


def _value(raw: Any) -> float | None:
    """Coin Metrics sends numbers as strings; null or unreadable means no value."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def build_collectors(
    onchain: OnchainSettings,
    http: HttpSettings,
    store_lookup: StoreLookup,
    options: CollectOptions,
) -> list[Collector]:
    """One collector per asset in ``onchain.assets``."""
    since = options.since.date() if options.since else None
    return [
        CoinMetricsCollector(
            asset, settings=onchain, http=http, store_lookup=store_lookup, since=since
        )
        for asset in onchain.assets
    ]
