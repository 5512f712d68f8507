"""The pipeline's event publisher: index changes and new signals go to the log once, with the
previous values, and a restart does not publish the same value again."""

from __future__ import annotations

from datetime import timedelta

from core.records import Signal
from core.settings import Settings
from core.store import Store
from cryptosense.publish import EventPublisher
from tests.api.test_api import H0, MV, NOW, add_doc


def test_index_changes_are_published_once_with_the_previous_values(sqlite_store: Store) -> None:
    store, index = sqlite_store, Settings().index
    add_doc(store, 10, 0.6)
    add_doc(store, 20, -0.4, asset="ETH")
    seen = []
    publisher = EventPublisher(store, index, on_publish=seen.append)
    first = publisher.index(MV, NOW)
    assert [(e.topic, e.asset) for e in first] == [("sentiment", "BTC"), ("sentiment", "ETH")]
    btc = first[0].payload
    assert (btc["ts"], btc["n_docs"], btc["partial"], btc["previous_index"]) == (
        "2024-03-01T00:00:00Z",
        1,
        False,
        None,
    )
    assert publisher.index(MV, NOW) == []  # nothing changed
    add_doc(store, 5 * 60 + 1, 0.9)  # a document in the open 05:00 bucket
    [update] = publisher.index(MV, NOW)
    assert update.asset == "BTC" and update.payload["partial"] is True
    assert update.payload["previous_index"] == btc["index"]
    assert seen == [first, [update]]
    # a restarted publisher remembers what the log holds
    assert EventPublisher(store, index).index(MV, NOW) == []
    assert [e.id for e in store.events.since(0)] == [*(e.id for e in first), update.id]


def test_new_signals_are_published_with_the_previous_action(sqlite_store: Store) -> None:
    def sig(hours: int, action: str) -> Signal:
        ts = H0 + timedelta(hours=hours)
        return Signal(asset="BTC", ts=ts, horizon="1d", action=action, features_asof=ts)

    publisher = EventPublisher(sqlite_store, Settings().index)
    [first] = publisher.signals([sig(0, "flat")])
    assert first.payload["action"] == "flat" and first.payload["previous_action"] is None
    assert publisher.signals([sig(0, "flat")]) == []
    [second] = publisher.signals([sig(24, "long")])
    assert (second.payload["action"], second.payload["previous_action"]) == ("long", "flat")
    assert EventPublisher(sqlite_store, Settings().index).signals([sig(24, "long")]) == []
