"""Small helpers shared by the market-data pollers (:mod:`collectors.live.prices`,
:mod:`collectors.live.onchain`) and their CSV importers (:mod:`collectors.importers`).

Kept free of heavy imports (no ccxt) so the CSV importers and the CLI load fast.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from core.store import Store

log = logging.getLogger(__name__)

_TIMEFRAME = re.compile(r"^(\d+)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
KNOWN_QUOTES = ("USDT", "USDC", "BUSD", "USD", "EUR", "GBP", "JPY", "BTC", "ETH")

StoreLookup = Callable[[], Store | None]


class TimeframeError(ValueError):
    """A timeframe string that is not ``<n>m``, ``<n>h``, ``<n>d`` or ``<n>w``."""


class PairError(ValueError):
    """A trading pair that cannot be read as base and quote."""


def timeframe_seconds(timeframe: str) -> int:
    """Length of one candle in seconds (``"1h"`` -> 3600), the ccxt spelling of timeframes."""
    match = _TIMEFRAME.match(timeframe.strip())
    if not match or int(match.group(1)) == 0:
        raise TimeframeError(f"timeframe {timeframe!r} is not like 1m, 15m, 1h, 4h, 1d or 1w")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def split_pair(pair: str) -> tuple[str, str]:
    """``BTC/USD``, ``btc-usd`` or ``BTCUSD`` -> ``("BTC", "USD")``."""
    raw = pair.strip().upper()
    for sep in ("/", "-", "_", ":"):
        if sep in raw:
            base, quote = raw.split(sep, 1)
            if base and quote:
                return base, quote
    for quote in KNOWN_QUOTES:
        if raw.endswith(quote) and len(raw) > len(quote):
            return raw[: -len(quote)], quote
    raise PairError(f"cannot read {pair!r} as a pair; write it like BTC/USD")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso(value: datetime) -> str:
    """Compact UTC ISO form used in reports and cursors."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ExistingStore:
    """Opens the store at ``database_url`` on first use, and only if it already exists.

    Collectors read their stored position (``store.market.last_candle_ts``,
    ``last_onchain_day``) through this, so a ``--dry-run`` on a fresh machine creates no
    database, while a normal run (where the runner has created the store) continues exactly
    after what is stored.
    """

    def __init__(self, database_url: str, *, echo: bool = False) -> None:
        self._url = database_url
        self._echo = echo
        self._store: Store | None = None

    def __call__(self) -> Store | None:
        if self._store is not None:
            return self._store
        if self._url.startswith("sqlite:///"):
            path = Path(self._url.removeprefix("sqlite:///")).expanduser()
            if not path.is_file():
                return None
        store = Store.open(self._url, echo=self._echo)
        self._store = store
        return store
