"""The agent's tools: read-only, typed, allow-listed here, each seeing only what was known at
its as-of time.

A tool is a pydantic argument model and a function ``(deps, args, asof) -> dict``. The dict
carries ``figures`` (name, value, unit: the only numbers an answer may state), ``citations``
(stored documents) where the tool reads text, and ``fresh`` (the newest data time it saw).
:func:`call` is the only way in: an unknown tool, an unknown asset or an out-of-range argument
is refused with :class:`~agent.errors.AgentInputError` before anything runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.deps import ToolDeps
from agent.errors import AgentInputError
from core.records import Frequency
from core.times import ensure_utc

MAX_WINDOW_H = 24 * 90


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssetArgs(_Args):
    asset: str = Field(min_length=1, max_length=12, description="asset symbol, e.g. ETH")

    @field_validator("asset")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


class WindowArgs(AssetArgs):
    window_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)


class SearchArgs(_Args):
    query: str = Field(min_length=1, max_length=300)
    asset: str | None = Field(default=None, max_length=12)
    family: str | None = Field(default=None, pattern="^(news|reddit)$")
    window_hours: int = Field(default=168, ge=1, le=MAX_WINDOW_H)
    limit: int = Field(default=5, ge=1, le=10)

    @field_validator("asset")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return None if v is None else v.strip().upper()


class MoversArgs(_Args):
    window_hours: int = Field(default=24, ge=1, le=MAX_WINDOW_H)
    limit: int = Field(default=5, ge=1, le=10)


@dataclass(frozen=True)
class ToolSpec:
    """A tool as listed to callers (the MCP server, the API): its JSON schema of args."""

    name: str
    category: str
    description: str
    args_schema: dict[str, Any]


def _fig(name: str, value: float | int | str | None, unit: str | None = None) -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 4)
    return {"name": name, "value": value, "unit": unit}


def _figs(*items: tuple[str, float | int | str | None, str | None]) -> list[dict[str, Any]]:
    return [_fig(n, v, u) for n, v, u in items if v is not None and v == v]


# --- sentiment ------------------------------------------------------------------------------


def sentiment_index(deps: ToolDeps, a: WindowArgs, asof: datetime) -> dict[str, Any]:
    """The as-of sentiment index of an asset over the window: level, change, z-score."""
    from nlp.index import bucket_start, series

    version = deps.sentiment_version()
    freq = Frequency.HOUR if a.window_hours <= 72 else Frequency.DAY
    if version is None:
        return {"figures": [], "fresh": None, "note": "no sentiment scores stored"}
    end = bucket_start(asof, freq)
    served = series(
        deps.store,
        version,
        deps.index,
        asset=a.asset,
        freq=freq,
        start=asof - timedelta(hours=a.window_hours),
        end=end,
        limit=MAX_WINDOW_H,
        now=asof,
    )
    points = [s.point for s in served if s.point.asof <= asof]
    if not points:
        return {"figures": [], "fresh": None, "note": f"no sentiment for {a.asset} in the window"}
    last, first = points[-1], points[0]
    n = sum(p.n_docs for p in points)
    mean = sum(p.mean * p.n_docs for p in points) / n if n else None
    bull = sum(p.share_bullish * p.n_docs for p in points) / n if n else None
    bear = sum(p.share_bearish * p.n_docs for p in points) / n if n else None
    return {
        "figures": _figs(
            (f"{a.asset} sentiment index", last.index, "0-100"),
            (f"{a.asset} sentiment change", last.index - first.index, "index points"),
            (f"{a.asset} sentiment z-score", last.zscore, "sigma"),
            (f"{a.asset} mean sentiment", mean, "-1..1"),
            (f"{a.asset} bullish share", None if bull is None else 100 * bull, "%"),
            (f"{a.asset} bearish share", None if bear is None else 100 * bear, "%"),
            (f"{a.asset} documents", n, "docs"),
        ),
        "fresh": last.asof,
        "series": [(p.ts.isoformat(), round(p.index, 2)) for p in points],
    }


# --- text ---------------------------------------------------------------------------------


def search_news(deps: ToolDeps, a: SearchArgs, asof: datetime) -> dict[str, Any]:
    """Stored news and Reddit posts about the query known at ``asof``, as citable snippets
    (vector search when it runs in this process, else the newest matching stored posts)."""
    since = asof - timedelta(hours=a.window_hours)
    docs: list[dict[str, Any]] = []
    if deps.vectors is not None:
        from nlp.vectors.base import SearchFilter

        stories = deps.vectors.search(
            a.query,
            SearchFilter(
                assets=(a.asset,) if a.asset else (),
                families=(a.family,) if a.family else (),
                published_since=since,
                asof=asof,
            ),
            limit=a.limit,
        )
        for st in stories:
            d = deps.store.documents.get(st.id)
            if d is not None and d.ingested_at <= asof:
                docs.append(_snippet(d, None))
    else:
        version = deps.sentiment_version()
        if version is not None:
            words = {w for w in a.query.lower().split() if len(w) > 3}
            cited = deps.store.documents.cited(
                version, asset=a.asset, since=since, asof=asof, limit=200
            )
            if a.family:
                cited = [c for c in cited if c.document.family.value == a.family]

            def overlap(c: Any) -> int:
                text = f"{c.document.title} {c.document.text}".lower()
                return sum(w in text for w in words)

            ranked = sorted(cited, key=lambda c: (-overlap(c), -c.document.ingested_at.timestamp()))
            docs = [_snippet(c.document, c.score.score) for c in ranked[: a.limit]]
    fresh = max((d["ingested_at"] for d in docs), default=None)
    return {
        "figures": _figs((f"stories found for {a.asset or 'the market'}", len(docs), "docs")),
        "citations": [
            {k: d[k] for k in ("id", "source", "title", "url", "published_at")} for d in docs
        ],
        "snippets": [{"id": d["id"], "text": d["text"], "sentiment": d["sentiment"]} for d in docs],
        "fresh": fresh,
    }


def _snippet(d: Any, sentiment: float | None) -> dict[str, Any]:
    return {
        "id": d.id,
        "source": d.source,
        "title": d.title,
        "url": d.url,
        "published_at": d.published_at,
        "ingested_at": d.ingested_at,
        "text": (d.title + ". " + d.text)[:280],
        "sentiment": None if sentiment is None else round(sentiment, 2),
    }


# --- market ---------------------------------------------------------------------------------


def _pair(deps: ToolDeps, asset: str) -> str | None:
    for pair in deps.prices.pairs:
        if pair.split("/")[0].upper() == asset:
            return pair
    return None


_BAR = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}


def price_summary(deps: ToolDeps, a: WindowArgs, asof: datetime) -> dict[str, Any]:
    """Last close, return, high, low and realised volatility over the window, from candles
    closed by ``asof``."""
    pair = _pair(deps, a.asset)
    if pair is None:
        return {"figures": [], "fresh": None, "note": f"no price series for {a.asset}"}
    have = deps.store.market.timeframes(deps.prices.exchange, pair)
    tf = next(
        (t for t in (("1h", "1d") if a.window_hours <= 72 else ("1d", "1h")) if t in have), None
    )
    if tf is None:
        return {"figures": [], "fresh": None, "note": f"no stored candles for {pair}"}
    bar = _BAR.get(tf, timedelta(hours=1))
    rows = deps.store.market.candle_rows(deps.prices.exchange, pair, tf, open_by=asof - bar)
    rows = [r for r in rows if ensure_utc(r[0]) >= asof - timedelta(hours=a.window_hours) - bar]
    if len(rows) < 2:
        return {"figures": [], "fresh": None, "note": f"too few candles for {pair} in the window"}
    closes = [r[4] for r in rows]
    rets = [math.log(b / a_) for a_, b in itertools.pairwise(closes) if a_ > 0 and b > 0]
    per_year = 365 * 24 if tf == "1h" else 365
    vol = None
    if len(rets) >= 2:
        m = sum(rets) / len(rets)
        vol = math.sqrt(sum((r - m) ** 2 for r in rets) / (len(rets) - 1) * per_year) * 100
    return {
        "figures": _figs(
            (f"{a.asset} last close", closes[-1], pair.split("/")[1]),
            (f"{a.asset} return", (closes[-1] / rows[0][1] - 1) * 100, "%"),
            (f"{a.asset} high", max(r[2] for r in rows), pair.split("/")[1]),
            (f"{a.asset} low", min(r[3] for r in rows), pair.split("/")[1]),
            (f"{a.asset} realised volatility", vol, "% annualised"),
        ),
        "fresh": ensure_utc(rows[-1][0]) + bar,
    }


def onchain_summary(deps: ToolDeps, a: AssetArgs, asof: datetime) -> dict[str, Any]:
    """Each on-chain metric's newest daily value published by ``asof`` (a day's value is
    known the next day) and its change over 7 days."""
    through = (asof - timedelta(days=1)).date()
    figures: list[dict[str, Any]] = []
    fresh = None
    for source, _first, _n in deps.store.market.onchain_sources(a.asset):
        rows = deps.store.market.onchain_rows(a.asset, source, through=through)
        by_metric: dict[str, list[tuple[Any, float]]] = {}
        for day, metric, value in rows:
            by_metric.setdefault(metric, []).append((day, value))
        for metric, vals in sorted(by_metric.items()):
            day, value = vals[-1]
            figures.append(_fig(f"{a.asset} {metric}", value, None))
            week = [v for d, v in vals if d <= day - timedelta(days=7)]
            if week and week[-1]:
                figures.append(
                    _fig(f"{a.asset} {metric} 7d change", (value / week[-1] - 1) * 100, "%")
                )
            t = datetime(day.year, day.month, day.day, tzinfo=asof.tzinfo) + timedelta(days=1)
            fresh = t if fresh is None or t > fresh else fresh
    return {"figures": figures[:12], "fresh": fresh}


# --- fusion ---------------------------------------------------------------------------------


def _signal_asof(deps: ToolDeps, asset: str, asof: datetime) -> Any:
    best = None
    for tf in ("1d", "1h"):
        for s in deps.store.signals.history(asset, tf, end=asof + timedelta(microseconds=1)):
            if (s.asof or s.ts) <= asof and (best is None or s.ts > best.ts):
                best = s
        if best is not None:
            return best
    return best


def fusion_signal(deps: ToolDeps, a: AssetArgs, asof: datetime) -> dict[str, Any]:
    """The newest fusion signal made by ``asof``, the model's report card (promoted or not,
    why) and its forward-ledger record: hit rate and net return of signals resolved by then."""
    sig = _signal_asof(deps, a.asset, asof)
    if sig is None:
        return {"figures": [], "fresh": None, "note": f"no fusion signal for {a.asset} yet"}
    outcomes = [
        o for o in deps.store.signals.outcomes(a.asset, sig.timeframe) if o.resolved_at <= asof
    ]
    hits = [o.hit for o in outcomes if o.hit is not None]
    entry = deps.store.studies.current(a.asset, sig.timeframe)
    card = None
    if entry is not None and entry.created_at <= asof:
        card = "promoted" if entry.promoted else "not promoted: " + "; ".join(entry.reasons)
    return {
        "figures": _figs(
            (f"{a.asset} signal action", sig.action, None),
            (f"{a.asset} signal P(up)", None if sig.prob_up is None else 100 * sig.prob_up, "%"),
            (f"{a.asset} signal horizon", sig.horizon, None),
            (f"{a.asset} ledger resolved signals", len(outcomes), "signals"),
            (f"{a.asset} ledger hit rate", 100 * sum(hits) / len(hits) if hits else None, "%"),
            (
                f"{a.asset} ledger mean net return",
                100 * sum(o.net_return for o in outcomes) / len(outcomes) if outcomes else None,
                "%",
            ),
        ),
        "report_card": card or "no registered model",
        "reasons": list(sig.reasons),
        "fresh": sig.asof or sig.ts,
    }


def risk_gate(deps: ToolDeps, a: AssetArgs, asof: datetime) -> dict[str, Any]:
    """The risk gate's state in the newest signal by ``asof``: held or open, and every rule
    that fired (stale data, drift, volatility, drawdown, sentiment shock)."""
    sig = _signal_asof(deps, a.asset, asof)
    if sig is None:
        return {"figures": [], "fresh": None, "note": f"no risk gate state for {a.asset} yet"}
    held = sig.action in ("hold", "no model")
    return {
        "figures": _figs(
            (f"{a.asset} risk gate", "held" if held else "open", None),
            (f"{a.asset} data age", sig.data_age_bars, "bars"),
        ),
        "reasons": list(sig.reasons),
        "fresh": sig.asof or sig.ts,
    }


def top_movers(deps: ToolDeps, a: MoversArgs, asof: datetime) -> dict[str, Any]:
    """Covered assets ranked by the size of their sentiment-index change over the window."""
    moves = []
    fresh = None
    for asset in deps.covered():
        out = sentiment_index(deps, WindowArgs(asset=asset, window_hours=a.window_hours), asof)
        change = next((f["value"] for f in out["figures"] if f["name"].endswith("change")), None)
        if isinstance(change, int | float):
            moves.append((asset, float(change)))
            if out["fresh"] is not None and (fresh is None or out["fresh"] > fresh):
                fresh = out["fresh"]
    moves.sort(key=lambda m: (-abs(m[1]), m[0]))
    return {
        "figures": [_fig(f"{s} sentiment change", c, "index points") for s, c in moves[: a.limit]],
        "movers": [s for s, _ in moves[: a.limit]],
        "fresh": fresh,
    }


@dataclass(frozen=True)
class _Tool:
    fn: Callable[[ToolDeps, Any, datetime], dict[str, Any]]
    args: type[_Args]
    category: str


TOOLS: dict[str, _Tool] = {
    "sentiment_index": _Tool(sentiment_index, WindowArgs, "sentiment"),
    "search_news": _Tool(search_news, SearchArgs, "text"),
    "price_summary": _Tool(price_summary, WindowArgs, "market"),
    "onchain_summary": _Tool(onchain_summary, AssetArgs, "market"),
    "fusion_signal": _Tool(fusion_signal, AssetArgs, "fusion"),
    "risk_gate": _Tool(risk_gate, AssetArgs, "fusion"),
    "top_movers": _Tool(top_movers, MoversArgs, "sentiment"),
}


def specs() -> list[ToolSpec]:
    return [
        ToolSpec(
            name,
            t.category,
            (t.fn.__doc__ or "").split("\n\n")[0].replace("\n", " "),
            t.args.model_json_schema(),
        )
        for name, t in TOOLS.items()
    ]


def validate(deps: ToolDeps, name: str, args: dict[str, Any]) -> _Args:
    """The tool's arguments, checked: allow-listed tool, schema, known asset."""
    tool = TOOLS.get(name)
    if tool is None:
        raise AgentInputError(f"unknown tool {name!r}; tools: {', '.join(TOOLS)}")
    try:
        parsed = tool.args.model_validate(args)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "args"
        raise AgentInputError(f"{name}: {where}: {first['msg']}") from None
    asset = getattr(parsed, "asset", None)
    if asset is not None and asset not in deps.covered():
        raise AgentInputError(f"{name}: asset {asset!r} is not covered (no stored document)")
    return parsed


def call(deps: ToolDeps, name: str, args: dict[str, Any], asof: datetime) -> dict[str, Any]:
    """Run one allow-listed tool as of ``asof`` (refused with the reason when not allowed)."""
    parsed = validate(deps, name, args)
    return TOOLS[name].fn(deps, parsed, ensure_utc(asof))
