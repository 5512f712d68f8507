"""The analyst's daily briefing: per covered asset and for the market, from the tools alone.

Sections per asset: sentiment level and change with a 14-day chart, top stories with
citations, what moved sentiment (the most positive and most negative stories), price and
on-chain context, the current signal with its report card and ledger record, risk flags. The
market section ranks assets by sentiment change with a bar chart. No LLM writes any of it,
so it is identical given the same data, as-of time and seed (the seed breaks ties in story
order only), and every number in it comes from a tool. Markdown embeds the charts as
base64 SVG images; the HTML is self-contained, its charts inline SVG.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from agent.charts import bar_chart, line_chart
from agent.errors import AgentInputError
from agent.grounding import clean_links
from agent.prompt import fmt
from core.store.agent import Briefing
from core.times import ensure_utc

if TYPE_CHECKING:
    from agent.service import Agent

SECTIONS = ("sentiment", "stories", "drivers", "market", "signal", "risk")
TITLES = {
    "sentiment": "Sentiment",
    "stories": "Top stories",
    "drivers": "What moved sentiment",
    "market": "Price and on-chain",
    "signal": "Signal and its record",
    "risk": "Risk flags",
}


def _figs(out: dict[str, Any]) -> list[str]:
    return [
        f"{f['name']}: {fmt(f['value'])}{' ' + f['unit'] if f.get('unit') else ''}"
        for f in out.get("figures", [])
    ]


def _call(agent: Agent, name: str, args: dict[str, Any], asof: datetime) -> dict[str, Any]:
    try:
        return agent.call_tool(name, args, asof=asof)
    except AgentInputError as err:
        return {"figures": [], "note": str(err)}


def _asset_sections(
    agent: Agent, asset: str, asof: datetime, rng: random.Random
) -> dict[str, dict[str, Any]]:
    sent = _call(agent, "sentiment_index", {"asset": asset, "window_hours": 24}, asof)
    hist = _call(agent, "sentiment_index", {"asset": asset, "window_hours": 24 * 14}, asof)
    news = _call(
        agent,
        "search_news",
        {"query": f"{asset} news", "asset": asset, "window_hours": 48, "limit": 10},
        asof,
    )
    price = _call(agent, "price_summary", {"asset": asset, "window_hours": 24}, asof)
    chain = _call(agent, "onchain_summary", {"asset": asset}, asof)
    signal = _call(agent, "fusion_signal", {"asset": asset}, asof)
    risk = _call(agent, "risk_gate", {"asset": asset}, asof)
    cites = news.get("citations", [])
    sentiment_of = {s["id"]: s.get("sentiment") for s in news.get("snippets", [])}
    order = list(range(len(cites)))
    rng.shuffle(order)  # seeded: ties below keep a reproducible order
    ranked = sorted(order, key=lambda i: -abs(sentiment_of.get(cites[i]["id"]) or 0.0))
    movers = [cites[i] | {"sentiment": sentiment_of.get(cites[i]["id"])} for i in ranked[:3]]
    flags = list(risk.get("reasons", []))
    z = next((f["value"] for f in sent.get("figures", []) if f["name"].endswith("z-score")), None)
    if isinstance(z, int | float) and abs(z) >= 2:
        flags.append(f"sentiment z-score {z:+.2f}: an unusual move")
    return {
        "sentiment": {
            "lines": _figs(sent) or [sent.get("note", "no sentiment data")],
            "chart": (f"{asset} sentiment index, last 14 days", hist.get("series", [])),
        },
        "stories": {"cites": cites[:5]},
        "drivers": {"cites": movers},
        "market": {
            "lines": (_figs(price) or [price.get("note", "no price data")])
            + (_figs(chain) or [chain.get("note", "no on-chain data")])
        },
        "signal": {
            "lines": (_figs(signal) or [signal.get("note", "no signal")])
            + ([f"report card: {signal['report_card']}"] if signal.get("report_card") else [])
        },
        "risk": {"lines": flags or ["no risk rule fired"]},
    }


def make_briefing(
    agent: Agent, day: date, *, asof: datetime | None = None, seed: int = 0
) -> Briefing:
    """The briefing of ``day`` as of ``asof`` (default: the end of the day, or now if that is
    later than now)."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    when = ensure_utc(asof) if asof is not None else min(end, ensure_utc(agent.clock()))
    rng = random.Random(seed)  # noqa: S311 - a reproducible order, not a secret
    assets = agent.deps.covered()
    movers = _call(agent, "top_movers", {"window_hours": 24, "limit": 10}, when)
    bars = [(f["name"].split()[0], float(f["value"])) for f in movers.get("figures", [])]
    per_asset = {a: _asset_sections(agent, a, when, rng) for a in assets}
    created = ensure_utc(agent.clock())
    return Briefing(
        day=day,
        asof=when,
        seed=seed,
        created_at=created,
        markdown=_markdown(day, when, bars, per_asset),
        html=_html(day, when, bars, per_asset),
    )


def _svg_for(chart: tuple[str, list[tuple[str, float]]]) -> str:
    title, series = chart
    return line_chart(title, [(ts[:10], v) for ts, v in series])


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _cite_md(c: dict[str, Any]) -> str:
    when = c["published_at"].strftime("%Y-%m-%d %H:%M") if c.get("published_at") else ""
    title = clean_links(c["title"], []).replace("[", "(").replace("]", ")").replace("\n", " ")
    link = f"[{title}]({c['url']})" if c.get("url", "").startswith("http") else title
    extra = f", sentiment {c['sentiment']:+.2f}" if c.get("sentiment") is not None else ""
    return f"- {link} ({c['source']}, {when}{extra})"


def _markdown(
    day: date,
    asof: datetime,
    bars: list[tuple[str, float]],
    per_asset: dict[str, dict[str, dict[str, Any]]],
) -> str:
    out = [
        f"# Cryptosense daily briefing, {day.isoformat()}",
        "",
        f"As of {asof.isoformat()}. Every figure comes from the stored data known then.",
        "",
        "## Market",
        "",
    ]
    out += [f"- {a}: sentiment change {v:+.2f} index points (24 h)" for a, v in bars] or [
        "- no sentiment moves"
    ]
    out += [
        "",
        f"![Sentiment change by asset]({_data_uri(bar_chart('Sentiment change, 24 h', bars))})",
        "",
    ]
    for asset, sections in per_asset.items():
        out += [f"## {asset}", ""]
        for key in SECTIONS:
            s = sections[key]
            out += [f"### {TITLES[key]}", ""]
            out += [f"- {line}" for line in s.get("lines", [])]
            if "cites" in s:
                out += [_cite_md(c) for c in s["cites"]] or ["- no stories"]
            if "chart" in s:
                out += ["", f"![{s['chart'][0]}]({_data_uri(_svg_for(s['chart']))})"]
            out.append("")
    return "\n".join(out)


_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}"
    "section{border-top:1px solid #ddd;padding:.5em 0}h3{margin:.6em 0 .2em}"
    "li{margin:.15em 0}.src{color:#666;font-size:.9em}"
)


def _cite_html(c: dict[str, Any]) -> str:
    when = c["published_at"].strftime("%Y-%m-%d %H:%M") if c.get("published_at") else ""
    title = escape(clean_links(c["title"], []))
    url = c.get("url") or ""
    head = f'<a href="{escape(url)}">{title}</a>' if url.startswith("http") else title
    extra = f", sentiment {c['sentiment']:+.2f}" if c.get("sentiment") is not None else ""
    return f'<li>{head} <span class="src">({escape(c["source"])}, {when}{extra})</span></li>'


def _html(
    day: date,
    asof: datetime,
    bars: list[tuple[str, float]],
    per_asset: dict[str, dict[str, dict[str, Any]]],
) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Cryptosense daily briefing {day.isoformat()}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Cryptosense daily briefing, {day.isoformat()}</h1>",
        f"<p>As of {escape(asof.isoformat())}. Every figure comes from the stored data known "
        "then.</p>",
        '<section id="market"><h2>Market</h2><ul>',
    ]
    out += [
        f"<li>{escape(a)}: sentiment change {v:+.2f} index points (24 h)</li>" for a, v in bars
    ] or ["<li>no sentiment moves</li>"]
    out += ["</ul>", f"<figure>{bar_chart('Sentiment change, 24 h', bars)}</figure>", "</section>"]
    for asset, sections in per_asset.items():
        out.append(f'<section id="asset-{escape(asset)}"><h2>{escape(asset)}</h2>')
        for key in SECTIONS:
            s = sections[key]
            out.append(f'<div class="part" data-section="{key}"><h3>{TITLES[key]}</h3><ul>')
            out += [f"<li>{escape(line)}</li>" for line in s.get("lines", [])]
            if "cites" in s:
                out += [_cite_html(c) for c in s["cites"]] or ["<li>no stories</li>"]
            out.append("</ul>")
            if "chart" in s:
                out.append(f"<figure>{_svg_for(s['chart'])}</figure>")
            out.append("</div>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)
