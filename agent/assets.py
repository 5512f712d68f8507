"""Exact asset resolution: which assets a question names, how, and which are not covered.

Names are matched before tickers and longest first, so "Ethereum Classic" is ETC and never
ETH; a ticker matches in any case as a whole word or a cashtag (questions are typed in lower
case), except tickers that are also English words (``link``, ``dot``, ``etc``), which match
only upper case or as cashtags. A symbol the service tracks but no stored document mentions,
or a ticker-like word it does not track at all, is *not covered*: reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from collectors.assets import BUILTIN_ASSETS

_WORDLIKE = {"LINK", "DOT", "ETC", "SOL", "ADA"}
# Upper-case words that look like tickers but are not assets.
_ACRONYMS = {
    "A",
    "I",
    "AI",
    "API",
    "ATH",
    "CEO",
    "CPI",
    "DEFI",
    "DAO",
    "EOD",
    "ETF",
    "ETFS",
    "EU",
    "FED",
    "FOMC",
    "GDP",
    "IPO",
    "JSON",
    "NFT",
    "OK",
    "SEC",
    "TVL",
    "UK",
    "US",
    "USA",
    "USD",
    "EUR",
    "UTC",
    "VS",
    "AND",
    "OR",
    "THE",
    "IS",
    "HOW",
    "WHAT",
    "WHY",
    "ON",
    "IN",
    "OF",
    "TO",
    "FOR",
    "ME",
    "MY",
    "IT",
    "AM",
    "PM",
    "DO",
    "BE",
    "AT",
    "BY",
    "RSI",
    "MACD",
    "KYC",
    "CEX",
    "DEX",
}
# Names of coins the service does not track: a question about one is "not covered".
_UNTRACKED_NAMES = {
    "pepe": "PEPE",
    "monero": "XMR",
    "cosmos": "ATOM",
    "aptos": "APT",
    "sui": "SUI",
    "toncoin": "TON",
    "polygon": "MATIC",
    "uniswap": "UNI",
    "arbitrum": "ARB",
    "near": "NEAR",
    "filecoin": "FIL",
    "dogwifhat": "WIF",
    "bonk": "BONK",
    "kaspa": "KAS",
    "hedera": "HBAR",
}
NAMES: dict[str, str] = {
    a.symbol: (a.names[0].title() if a.names else a.symbol) for a in BUILTIN_ASSETS
}


@dataclass
class Resolution:
    """Covered assets in order of mention, those not covered, and how each was read."""

    assets: list[str] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)

    def add(self, symbol: str, how: str, covered: Collection[str]) -> None:
        if symbol in self.assets or symbol in self.not_covered:
            return
        if symbol in covered:
            self.assets.append(symbol)
            self.explanations.append(f"{how} -> {symbol} ({NAMES.get(symbol, symbol)})")
        else:
            self.not_covered.append(symbol)
            why = (
                "tracked, but no stored document mentions it"
                if symbol in NAMES
                else "not an asset this service tracks"
            )
            self.explanations.append(f"{how} -> {symbol}: not covered ({why})")


def resolve(question: str, covered: Collection[str]) -> Resolution:
    """The assets ``question`` names; ``covered``: symbols with stored documents."""
    out = Resolution()
    for _, symbol, how in mentions(question):
        out.add(symbol, how, covered)
    if "ETH" in out.assets + out.not_covered and "ETC" not in out.assets + out.not_covered:
        out.explanations.append("ETH is Ethereum; Ethereum Classic (ETC) is a different asset")
    return out


def mentions(question: str) -> list[tuple[int, str, str]]:
    """Every asset mention in ``question`` as (position, symbol, how it was read), in order."""
    text = question
    names = sorted(
        ((n, a.symbol) for a in BUILTIN_ASSETS for n in a.names), key=lambda x: -len(x[0])
    )
    found: list[tuple[int, str, str]] = []
    for name, symbol in names:
        for m in re.finditer(rf"(?<![\w$]){re.escape(name)}s?(?!\w)", text, re.IGNORECASE):
            found.append((m.start(), symbol, f"name {m.group(0)!r}"))
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    for name, symbol in _UNTRACKED_NAMES.items():
        for m in re.finditer(rf"(?<![\w$]){name}(?!\w)", text, re.IGNORECASE):
            found.append((m.start(), symbol, f"name {m.group(0)!r}"))
    tracked = set(NAMES)
    for m in re.finditer(r"(\$)?\b([A-Za-z][A-Za-z0-9]{1,9})\b", text):
        cash, word = m.group(1), m.group(2)
        sym = word.upper()
        if sym in tracked:
            if cash or word.isupper() or sym not in _WORDLIKE:
                found.append((m.start(), sym, f"{'cashtag' if cash else 'ticker'} {m.group(0)!r}"))
        elif cash or (word.isupper() and 3 <= len(word) <= 6 and sym not in _ACRONYMS):
            found.append((m.start(), sym, f"{'cashtag' if cash else 'ticker'} {m.group(0)!r}"))
    return sorted(found)
