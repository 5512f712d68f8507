"""A deterministic router for the common questions, so a small model never has to choose
tools: the question's assets (exact resolution), its kind by keywords, its window by phrases.

A follow-up ("and ETH?") keeps the previous turn's kind and window and takes the assets it
names; one without assets ("what about risk?") keeps the previous assets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.assets import Resolution, resolve

_FUTURE = re.compile(
    r"\b(will|predict\w*|forecast\w*|tomorrow|next (week|month|year)|price target|going to|"
    r"moon|reach \$?\d|should i (buy|sell))\b",
    re.I,
)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("compare", re.compile(r"\b(compare|versus|vs\.?|better than|against)\b", re.I)),
    (
        "risk_assessment",
        re.compile(
            r"\b(risk\w*|safe|danger\w*|drawdown|volatil\w*|gate|held|exposure|portfolio)\b", re.I
        ),
    ),
    (
        "sentiment_drivers",
        re.compile(
            r"\b(driv\w*|why|behind|moving|moved|news|stories|headlines|caus\w*|reason)\b", re.I
        ),
    ),
    ("top_movers", re.compile(r"\b(movers?|biggest|which (coin|asset)s?|market overview)\b", re.I)),
)
_WINDOWS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"\b(today|24 ?h(ours)?|past day|last day|daily)\b", re.I), 24),
    (re.compile(r"\b(this week|week|7 ?d(ays)?|weekly)\b", re.I), 168),
    (re.compile(r"\b(this month|month|30 ?d(ays)?|monthly)\b", re.I), 720),
)
_N_UNITS = re.compile(r"\b(\d{1,3}) ?(hours?|h|days?|d|weeks?)\b", re.I)


@dataclass
class Route:
    kind: str
    params: dict[str, object]
    resolution: Resolution
    future: bool = False
    followup: bool = False
    notes: list[str] = field(default_factory=list)


def window_of(question: str) -> int | None:
    m = _N_UNITS.search(question)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        hours = n * (1 if unit.startswith("h") else 24 if unit.startswith("d") else 168)
        return max(1, min(hours, 24 * 90))
    for pattern, hours in _WINDOWS:
        if pattern.search(question):
            return hours
    return None


def kind_of(question: str) -> str | None:
    for kind, pattern in _KINDS:
        if pattern.search(question):
            return kind
    return None


def route(question: str, covered: list[str], previous: Route | None = None) -> Route:
    """The query kind and params for ``question``; ``previous``: the conversation's last turn."""
    res = resolve(question, covered)
    kind = kind_of(question)
    window = window_of(question)
    followup = False
    assets = list(res.assets)
    short = len(question.split()) <= 6
    if previous is not None and previous.kind != "not_covered":
        if not assets and not res.not_covered:
            assets = list(previous.resolution.assets)
            followup = True
        elif kind is None and short:
            kind = previous.kind if previous.kind != "compare" else "market_context"
            followup = True
        if window is None and followup:
            w = previous.params.get("window_hours", previous.params.get("horizon_hours"))
            window = w if isinstance(w, int) else None
    future = bool(_FUTURE.search(question))
    if res.not_covered and not assets:
        return Route("not_covered", {"assets": res.not_covered}, res, future, followup)
    if kind == "compare" and len(assets) == 1 and previous is not None:
        # "compare it with BTC": the previous turn's asset is the other side
        assets = list(dict.fromkeys([*previous.resolution.assets, *assets]))
        followup = True
    res.assets = assets  # what the turn is about, follow-ups included: the next turn's base
    if kind == "compare" or (kind is None and len(assets) >= 2):
        if len(assets) >= 2:
            return Route(
                "compare",
                {"assets": assets[:5], "window_hours": window or 168},
                res,
                future,
                followup,
            )
        kind = None
    if kind == "top_movers" or not assets:
        return Route(
            "top_movers", {"window_hours": window or 24, "limit": 5}, res, future, followup
        )
    if kind == "risk_assessment":
        params: dict[str, object] = {"window_hours": window or 168}
        if len(assets) == 1:
            params["asset"] = assets[0]
        else:
            params["portfolio"] = assets[:5]
        return Route("risk_assessment", params, res, future, followup)
    if kind == "sentiment_drivers":
        return Route(
            "sentiment_drivers",
            {"asset": assets[0], "window_hours": window or 168},
            res,
            future,
            followup,
        )
    return Route(
        "market_context",
        {"asset": assets[0], "horizon_hours": window or 168},
        res,
        future,
        followup,
    )
