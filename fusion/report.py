"""The report card: a study as JSON, and the same figures as one self-contained HTML page.

The JSON is the record: sorted keys, floats to 6 significant digits, missing values as
null, nothing that depends on the clock, so the same run gives the same bytes. The HTML is
rendered from the JSON alone (charts as inline SVG, no scripts, no external assets).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion.ablation import ARMS, BUY_AND_HOLD
from fusion.charts import bar_chart, line_chart
from fusion.data import iso
from fusion.study import Study

CARD_VERSION = 1
CURVE_POINTS = 400
TOP_FEATURES = 20


def _clean(x: Any) -> Any:
    """JSON-safe and stable: numpy scalars to Python, NaN/inf to None, floats to 6 digits."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer | int):
        return int(x)
    if isinstance(x, np.floating | float):
        f = float(x)
        return float(f"{f:.6g}") if math.isfinite(f) else None
    return x


def _curve(values: pd.Series) -> list[list[Any]]:
    """At most :data:`CURVE_POINTS` evenly spaced points, the last one always kept."""
    if values.empty:
        return []
    step = max(1, math.ceil(len(values) / CURVE_POINTS))
    picked = values.iloc[::step]
    if picked.index[-1] != values.index[-1]:
        picked = pd.concat([picked, values.iloc[-1:]])
    return [[iso(t), float(v)] for t, v in picked.items()]


def card(study: Study) -> dict[str, Any]:
    """The card of a study, as plain data."""
    arms: dict[str, Any] = {}
    curves: dict[str, dict[str, Any]] = {"equity": {}, "drawdown": {}}
    for name, res in study.arms.items():
        entry: dict[str, Any] = {
            "status": res.status,
            "groups": list(ARMS.get(name, ())),
            "history": res.history,
            "metrics": res.metrics,
        }
        if res.walkforward is not None:
            imp = sorted(res.walkforward.importance.items(), key=lambda kv: (-kv[1], kv[0]))
            entry["importance"] = [[k, v] for k, v in imp[:TOP_FEATURES]]  # ordered: a list
            entry["folds"] = [asdict(f) for f in res.walkforward.folds]
        if res.backtest is not None and name in (BUY_AND_HOLD, study.chosen):
            eq = res.backtest.equity
            curves["equity"][name] = _curve(eq)
            curves["drawdown"][name] = _curve(eq / eq.cummax() - 1.0)
        arms[name] = entry
    sentiment = next(c for c in study.comparisons if c.arm == "price_onchain_sentiment")
    out = {
        "card_version": CARD_VERSION,
        "asset": study.asset,
        "timeframe": study.timeframe,
        "manifest": study.manifest,
        "summary": {
            "chosen": study.chosen,
            "gate": study.gate.verdict,
            "sentiment": sentiment.statement(),
            "statements": [c.statement() for c in study.comparisons],
            "folds": study.folds,
            "notes": list(study.notes),
        },
        "arms": arms,
        "ablation": [
            {**asdict(c), "verdict": c.verdict, "statement": c.statement()}
            for c in study.comparisons
        ],
        "regimes": study.regimes,
        "overfitting": {
            "variants": study.variants,
            "chosen_variant": f"{study.chosen}|h={study.settings.horizon}"
            f"|edge={study.settings.min_edge:g}",
            "pbo": None
            if study.pbo is None
            else {k: v for k, v in asdict(study.pbo).items() if k != "logits"},
            "pbo_note": study.pbo_note,
            "dsr": None if study.dsr is None else asdict(study.dsr),
        },
        "gate": asdict(study.gate),
        "curves": curves,
    }
    return _clean(out)


def card_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.verdict{font-weight:bold}.muted{color:#777}.empty{color:#777;font-style:italic}
code{font-size:12px}
"""


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if kind == "pct":
            return f"{v:.1%}"
        return f"{v:.3g}"
    return escape(str(v))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_METRICS = (
    ("total_return", "pct"),
    ("annual_return", "pct"),
    ("sharpe", ""),
    ("sortino", ""),
    ("max_drawdown", "pct"),
    ("win_rate", "pct"),
    ("profit_factor", ""),
    ("turnover", ""),
    ("exposure", "pct"),
    ("hit_rate", "pct"),
    ("ic", ""),
    ("calibration_error", ""),
    ("bars", ""),
)


def card_html(data: dict[str, Any]) -> str:
    """One page: verdict, arms, ablation with intervals, regimes, overfitting, charts."""
    s = data["summary"]
    man = data["manifest"]
    arms = data["arms"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Cryptosense fusion card: {escape(data['asset'])} {escape(data['timeframe'])}"
        "</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Fusion report card: {escape(data['asset'])} {escape(data['timeframe'])}</h1>",
        f"<p class='verdict'>{escape(s['gate'])}</p>",
        f"<p class='verdict'>{escape(s['sentiment'])}</p>",
        "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in s["statements"]) + "</ul>",
    ]
    if s["notes"]:
        parts.append("<p class='muted'>Notes: " + escape("; ".join(s["notes"])) + "</p>")
    parts.append("<h2>Arms (out of sample, after costs)</h2>")
    names = list(arms)
    rows = [[k] + [_fmt(arms[a]["metrics"].get(k), kind) for a in names] for k, kind in _METRICS]
    rows.append(["status"] + [_fmt(arms[a]["status"]) for a in names])
    rows.append(
        ["usable history"]
        + [
            f"{arms[a]['history'].get('usable_rows', 0)} rows, "
            f"{_fmt(arms[a]['history'].get('first'))} .. {_fmt(arms[a]['history'].get('last'))}"
            for a in names
        ]
    )
    parts.append(_table(["metric", *names], rows))
    parts.append("<h2>Ablation: what each source adds (bootstrap intervals)</h2>")
    level = man["settings"]["confidence"]
    parts.append(
        _table(
            [
                "step",
                "vs",
                "bars",
                f"Sharpe diff [{level:.0%} CI]",
                "annual return diff [CI]",
                "block",
                "verdict",
            ],
            [
                [
                    _fmt(c["arm"]),
                    _fmt(c["baseline"]),
                    _fmt(c["bars"]),
                    _interval(c["sharpe_diff"], ""),
                    _interval(c["return_diff"], "pct"),
                    _fmt(c["block_size"]),
                    escape(c["statement"]),
                ]
                for c in data["ablation"]
            ],
        )
    )
    parts.append("<h2>Equity and drawdown</h2>")
    parts.append(line_chart(data["curves"]["equity"], "Equity (start = 1)"))
    parts.append(line_chart(data["curves"]["drawdown"], "Drawdown", percent=True))
    parts.append("<h2>Regimes (labelled causally)</h2>")
    parts.append(
        _table(
            ["regime", "arm", "bars", "share", "Sharpe", "total return", "max DD", "hit rate"],
            [
                [
                    _fmt(r["regime"]),
                    _fmt(r["arm"]),
                    _fmt(r["bars"]),
                    _fmt(r["share"], "pct"),
                    _fmt(r["sharpe"]),
                    _fmt(r["total_return"], "pct"),
                    _fmt(r["max_drawdown"], "pct"),
                    _fmt(r["hit_rate"], "pct"),
                ]
                for r in data["regimes"]
            ],
        )
    )
    chosen = arms[s["chosen"]]
    parts.append("<h2>Feature importance (mean share of gain over folds)</h2>")
    top = [(str(k), float(v)) for k, v in chosen.get("importance", [])]
    parts.append(bar_chart(top, f"{s['chosen']}"))
    parts.append(_overfitting_html(data["overfitting"]))
    parts.append("<h2>Reproduce</h2><p class='muted'>")
    parts.append(
        f"data sha256 <code>{escape(man['data']['content_sha256'])}</code>; fusion sources "
        f"<code>{escape(man['code']['fusion_sha256'][:16])}</code>; package "
        f"{escape(str(man['code']['package']))}; seed {man['seed']}; candles "
        f"{_fmt(man['data']['candles']['first'])} .. {_fmt(man['data']['candles']['last'])}"
    )
    parts.append("</p></body></html>\n")
    return "".join(parts)


def _interval(i: dict[str, Any], kind: str) -> str:
    if i["estimate"] is None:
        return "–"
    return f"{_fmt(i['estimate'], kind)} [{_fmt(i['low'], kind)}, {_fmt(i['high'], kind)}]"


def _overfitting_html(o: dict[str, Any]) -> str:
    parts = ["<h2>Overfitting check</h2>"]
    if o["pbo"] is not None:
        p = o["pbo"]
        parts.append(
            f"<p>Probability of backtest overfitting: <b>{p['pbo']:.2f}</b> over "
            f"{p['variants']} variants, {p['splits']} splits of {p['blocks']} blocks "
            f"({p['bars']} bars).</p>"
        )
    else:
        parts.append(f"<p>PBO not computed: {escape(str(o['pbo_note']))}</p>")
    if o["dsr"] is not None:
        d = o["dsr"]
        parts.append(
            f"<p>Deflated Sharpe ratio of <code>{escape(o['chosen_variant'])}</code>: "
            f"<b>{_fmt(d['dsr'])}</b> (per-bar Sharpe {_fmt(d['sharpe'])} against "
            f"{_fmt(d['expected_max_sharpe'])} expected from {d['trials']} trials of noise)</p>"
        )
    rows = [
        [escape(k), _fmt(v["sharpe"]), _fmt(v["total_return"], "pct")]
        for k, v in o["variants"].items()
    ]
    parts.append(_table(["variant (every one tried)", "Sharpe", "total return"], rows))
    return "".join(parts)


def write_card(data: dict[str, Any], directory: Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.html``; the stem names asset and timeframe."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = stem or f"fusion-{data['asset']}-{data['timeframe']}"
    json_path = directory / f"{stem}.json"
    html_path = directory / f"{stem}.html"
    text = card_json(data)
    # The page is rendered from the JSON as written (its keys sorted), so the same JSON
    # always gives the same page, whether just computed or read back from the store.
    for path, content in ((json_path, text), (html_path, card_html(json.loads(text)))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a card
    return json_path, html_path
