"""Number verification: every number in a narrative must match a tool figure within rounding.

A number written with ``d`` decimals matches a figure when the figure rounds to it at ``d``
decimals (also its absolute value: "fell 3.2%" for a change of -3.2), or when it is one of
the question's own numbers (a window such as "7 days"). Dates written as ISO days match the
as-of day or a citation's day. Sentences with an unmatched number are dropped; links other
than citation URLs and markdown images are stripped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.assets import mentions

_NUMBER = re.compile(r"(?<![\w.])[-+−]?\$?\d[\d,]*(?:\.\d+)?(?![\w])")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?Z?)?")
_URL = re.compile(r"https?://[^\s)\]>\"']+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MDLINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_ADVICE = re.compile(
    r"\b(you should|should (buy|sell)|price target|will (rise|fall|reach|hit|go|drop|climb|"
    r"increase|decrease|pump|crash))\b|^\W*(yes|no)\s*[,.!]",
    re.I,
)


@dataclass
class Check:
    text: str
    numbers: int
    verified: int
    removed: list[str]

    @property
    def groundedness(self) -> float:
        return 1.0 if self.numbers == 0 else self.verified / self.numbers


def numbers_in(text: str) -> list[str]:
    return _NUMBER.findall(_DATE.sub(" ", text))


def _value(token: str) -> tuple[float, int] | None:
    raw = token.replace(",", "").replace("$", "").replace("−", "-").lstrip("+")
    try:
        x = float(raw)
    except ValueError:
        return None
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    return x, decimals


def matches(token: str, allowed: Iterable[float]) -> bool:
    parsed = _value(token)
    if parsed is None:
        return False
    x, d = parsed
    tol = 0.5 * 10 ** (-d) + 1e-9
    for v in allowed:
        for c in (v, abs(v)):
            if abs(c - x) <= tol or abs(abs(c) - abs(x)) <= tol:
                return True
    return False


def allowed_numbers(figures: Iterable[object], extra: Iterable[float] = ()) -> list[float]:
    vals: list[float] = list(extra)
    for f in figures:
        v = getattr(f, "value", None)
        if isinstance(v, int | float) and not isinstance(v, bool):
            vals.append(float(v))
    return vals


def clean_links(text: str, allowed_urls: Iterable[str | None]) -> str:
    ok = {u for u in allowed_urls if u}
    text = _IMAGE.sub("", text)
    text = _MDLINK.sub(lambda m: m.group(1) if m.group(2) not in ok else m.group(0), text)
    return _URL.sub(lambda m: m.group(0) if m.group(0) in ok else "", text)


def owners_of(
    figures: Iterable[object], extra: Iterable[float] = ()
) -> list[tuple[float, str | None]]:
    """(value, asset) of every numeric figure, and the extras (a window...) owned by none."""
    out: list[tuple[float, str | None]] = [(float(x), None) for x in extra]
    for f in figures:
        v = getattr(f, "value", None)
        if isinstance(v, int | float) and not isinstance(v, bool):
            out.append((float(v), owner_of(str(getattr(f, "name", "")))))
    return out


def owner_of(figure_name: str) -> str | None:
    """The asset a figure is about: its name's first word when that is a symbol."""
    first = figure_name.split()[0] if figure_name.split() else ""
    return first if first.isupper() and first.isalnum() else None


def _attributed(
    token: str, pos: int, sentence: str, owners: Sequence[tuple[float, str | None]]
) -> bool:
    """The number belongs to the asset named last before it in the sentence (any asset when
    none is named): "Ethereum Classic's 68.04" fails when 68.04 is ETH's figure."""
    before = [sym for p, sym, _ in mentions(sentence) if p < pos]
    if not before:
        return True
    return matches(token, [v for v, o in owners if o is None or o == before[-1]])


def verify(
    text: str,
    allowed: list[float],
    days: Iterable[str] = (),
    owners: Sequence[tuple[float, str | None]] | None = None,
) -> Check:
    """``text`` with every sentence removed that holds an unverified number or date, a number
    attributed to the wrong asset (with ``owners``: (value, asset) of every figure), or advice
    and predictions ("you should buy", "will reach", a bare "Yes," verdict)."""
    kept: list[str] = []
    removed: list[str] = []
    total = ok = 0
    day_set = set(days)
    for sentence in _SENTENCE.split(text.strip()):
        if not sentence:
            continue
        if _ADVICE.search(sentence):  # its numbers count as unverified
            total += len(numbers_in(sentence))
            removed.append(sentence)
            continue
        undated = _DATE.sub(lambda m: " " * len(m.group(0)), sentence)
        found = [(m.group(0), m.start()) for m in _NUMBER.finditer(undated)]
        nums = [n for n, _ in found]
        dates = [d[:10] for d in _DATE.findall(sentence)]
        good_n = [
            n
            for n, pos in found
            if matches(n, allowed) and (owners is None or _attributed(n, pos, sentence, owners))
        ]
        good_d = [d for d in dates if d in day_set]
        total += len(nums) + len(dates)
        ok += len(good_n) + len(good_d)
        if len(good_n) == len(nums) and len(good_d) == len(dates):
            kept.append(sentence)
        else:
            removed.append(sentence)
    return Check(" ".join(kept).strip(), total, ok, removed)
