"""What the pipeline publishes to the event log after each step: index updates and signals.

Index: the newest hourly bucket (all families) of every asset, each time its value or
document count changes, with the previous index and z-score, so a subscriber or a webhook
condition ("index crosses 60", "z-score beyond 2") needs no state of its own. Signals: each
newly stored signal, with the previous action of its asset and timeframe. What was published
last is read back from the log at start, so a restart does not publish the same value again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.records import Frequency, Signal
from core.settings import IndexSettings
from core.store import Store
from core.store.events import Event, NewEvent

log = logging.getLogger(__name__)

_POINT_FIELDS = ("index", "value", "zscore", "n_docs", "dispersion", "share_bullish")


class EventPublisher:
    def __init__(
        self,
        store: Store,
        index_settings: IndexSettings,
        *,
        on_publish: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self.store = store
        self.index_settings = index_settings
        self.on_publish = on_publish
        self._index: dict[str, dict[str, Any]] = {}
        self._signals: dict[tuple[str, str], dict[str, Any]] = {}
        for event in store.events.recent("sentiment"):
            self._index[event.asset] = event.payload
        for event in store.events.recent("signal"):
            self._signals[(event.asset, event.payload.get("timeframe", ""))] = event.payload

    def index(self, model_version: str, now: datetime) -> list[Event]:
        """Publish the assets whose newest hourly point changed since it was last published."""
        from nlp.index import series

        new: list[NewEvent] = []
        for asset in self.store.documents.assets():
            served = series(
                self.store,
                model_version,
                self.index_settings,
                asset=asset,
                freq=Frequency.HOUR,
                limit=1,
                now=now,
            )
            if not served:
                continue
            p, partial = served[-1].point, served[-1].partial
            payload: dict[str, Any] = {
                "freq": "1h",
                "family": "all",
                "model_version": model_version,
                "ts": p.ts.isoformat().replace("+00:00", "Z"),
                "asof": p.asof.isoformat().replace("+00:00", "Z"),
                "index": p.index,
                "value": p.mean,
                "zscore": p.zscore,
                "n_docs": p.n_docs,
                "dispersion": p.dispersion,
                "share_bullish": p.share_bullish,
                "share_bearish": p.share_bearish,
                "partial": partial,
            }
            before = self._index.get(asset)
            if before is not None and all(
                before.get(k) == payload[k] for k in ("ts", "model_version", *_POINT_FIELDS)
            ):
                continue
            payload["previous_index"] = None if before is None else before.get("index")
            payload["previous_zscore"] = None if before is None else before.get("zscore")
            new.append(NewEvent("sentiment", asset, payload))
        return self._append(new, lambda e: self._index.__setitem__(e.asset, e.payload))

    def signals(self, signals: list[Signal]) -> list[Event]:
        """Publish signals not published yet (newer than the last of their asset/timeframe)."""
        new: list[NewEvent] = []
        for sig in sorted(signals, key=lambda s: (s.ts, s.asset)):
            key = (sig.asset, sig.timeframe)
            before = self._signals.get(key)
            ts = sig.ts.isoformat().replace("+00:00", "Z")
            if before is not None and (before["ts"], before["horizon"]) >= (ts, sig.horizon):
                continue
            payload = {
                **sig.model_dump(mode="json"),
                "ts": ts,
                "previous_action": None if before is None else before.get("action"),
            }
            new.append(NewEvent("signal", sig.asset, payload))
            self._signals[key] = payload
        return self._append(new, lambda e: None)

    def _append(self, new: list[NewEvent], remember: Callable[[Event], None]) -> list[Event]:
        events = self.store.events.append(new)
        for event in events:
            remember(event)
        if events:
            log.info("published %d %s events", len(events), events[0].topic)
            if self.on_publish is not None:
                self.on_publish(events)
        return events
