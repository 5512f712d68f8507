"""Which crypto assets a text mentions: tickers, cashtags and names.

Three rules, each chosen to keep false positives out of the sentiment index:

- **Tickers** match only in upper case and as whole words: ``BTC``, ``ETH/USD``. Lower-case
  ``sol`` (Spanish for sun) or ``ada`` never match; ``ADA`` does. Tickers that are also
  common upper-case abbreviations (``DOT``, ``LINK``) match only as cashtags or by name, and
  in all-caps text (a shouted headline) no bare ticker matches at all, because there a ticker
  cannot be told from a word.
- **Cashtags** match in any case: ``$BTC``, ``$eth``.
- **Names** match in any case on word boundaries, plural included: ``Bitcoin``,
  ``bitcoins``, ``Ether`` (never inside ``whether`` or ``Ethernet``). Names of other coins
  that start with a name (``Bitcoin Cash``, ``Ethereum Classic``) and idioms
  (``ripple effect``) do not count.

Extra assets come from the ``assets.extra`` setting; an extra with a built-in symbol adds names
to it. Extra tickers shorter than three characters match only as cashtags or by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.settings import AssetSettings, AssetSpec


@dataclass(frozen=True)
class _Asset:
    symbol: str
    names: tuple[str, ...] = ()
    bare_ticker: bool = True  # does the upper-case ticker alone count?
    not_followed_by: tuple[str, ...] = ()  # words that make a name mean something else


BUILTIN_ASSETS: tuple[_Asset, ...] = (
    _Asset("BTC", ("bitcoin", "xbt"), not_followed_by=("cash", "sv", "gold", "satoshi vision")),
    _Asset("ETH", ("ethereum", "ether"), not_followed_by=("classic",)),
    _Asset("SOL", ("solana",)),
    _Asset("XRP", ("ripple", "xrp"), not_followed_by=("effect", "effects")),
    _Asset("DOGE", ("dogecoin",)),
    _Asset("ADA", ("cardano",)),
    _Asset("BCH", ("bitcoin cash",)),
    _Asset("ETC", ("ethereum classic",), bare_ticker=False),  # "etc." is an abbreviation
    _Asset("LTC", ("litecoin",)),
    _Asset("DOT", ("polkadot",), bare_ticker=False),
    _Asset("LINK", ("chainlink",), bare_ticker=False),
    _Asset("AVAX", ()),
    _Asset("BNB", ("binance coin",)),
    _Asset("SHIB", ("shiba inu",)),
    _Asset("TRX", ()),
    _Asset("XLM", ()),
    _Asset("USDT", ("tether",)),
    _Asset("USDC", ("usd coin",)),
)

# All-caps text: at least this many letters and at most this share of them lower case.
_SHOUT_MIN_LETTERS = 20
_SHOUT_MAX_LOWER = 0.1


def _name_pattern(name: str, not_followed_by: tuple[str, ...]) -> str:
    words = [re.escape(w) for w in name.split()]
    core = r"\s+".join(words)
    guard = ""
    if not_followed_by:
        alts = "|".join(r"\s+".join(re.escape(w) for w in x.split()) for x in not_followed_by)
        guard = rf"(?![\s-]+(?:{alts})\b)"
    # plural ("bitcoins") and possessive ("bitcoin's") are the same mention
    return rf"(?<![\w$]){core}(?:s)?(?!\w){guard}"


class AssetTagger:
    """Tags texts with the symbols of the assets they mention; see the module docstring."""

    def __init__(self, extra: Sequence[AssetSpec] = ()) -> None:
        assets = {a.symbol: a for a in BUILTIN_ASSETS}
        for spec in extra:
            known = assets.get(spec.symbol)
            names = tuple(n.strip().lower() for n in spec.names if n.strip())
            if known is None:
                assets[spec.symbol] = _Asset(spec.symbol, names, bare_ticker=len(spec.symbol) >= 3)
            else:
                merged = known.names + tuple(n for n in names if n not in known.names)
                assets[spec.symbol] = _Asset(
                    known.symbol, merged, known.bare_ticker, known.not_followed_by
                )
        self.symbols: tuple[str, ...] = tuple(sorted(assets))
        ordered = [assets[s] for s in self.symbols]
        self._group_symbol = {f"a{i}": a.symbol for i, a in enumerate(ordered)}
        tickers = [
            rf"(?P<a{i}>{re.escape(a.symbol)})" for i, a in enumerate(ordered) if a.bare_ticker
        ]
        self._tickers = re.compile(rf"(?<![\w$])(?:{'|'.join(tickers)})(?!\w)")
        cashtags = [rf"(?P<a{i}>{re.escape(a.symbol)})" for i, a in enumerate(ordered)]
        self._cashtags = re.compile(rf"(?<![\w$])\$(?:{'|'.join(cashtags)})(?!\w)", re.IGNORECASE)
        name_groups = [
            rf"(?P<a{i}>{'|'.join(_name_pattern(n, a.not_followed_by) for n in a.names)})"
            for i, a in enumerate(ordered)
            if a.names
        ]
        self._names = re.compile("|".join(name_groups), re.IGNORECASE)

    @classmethod
    def from_settings(cls, assets: AssetSettings) -> AssetTagger:
        """The tagger for the ``assets`` settings section: built-ins plus ``assets.extra``."""
        return cls(assets.extra)

    def tag(self, text: str) -> tuple[str, ...]:
        """Sorted, de-duplicated symbols of the assets ``text`` mentions."""
        if not text:
            return ()
        found: set[str] = set()
        patterns = [self._cashtags, self._names]
        if not _is_shouting(text):
            patterns.append(self._tickers)
        for pattern in patterns:
            for m in pattern.finditer(text):
                if m.lastgroup is not None:
                    found.add(self._group_symbol[m.lastgroup])
        return tuple(sorted(found))


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < _SHOUT_MIN_LETTERS:
        return False
    lower = sum(c.islower() for c in letters)
    return lower / len(letters) <= _SHOUT_MAX_LOWER
