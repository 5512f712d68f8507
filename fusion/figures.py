"""Report cards as text: the short summary ``fusion backtest`` prints and the Markdown table
of several cards that the README's figures are pasted from (``fusion report --table``).

Both read the card JSON only, so a stored run prints the same whether it ran a minute or a
year ago.
"""

from __future__ import annotations

from typing import Any

from fusion.ablation import ARMS, BUY_AND_HOLD

ARM_TITLES = {
    BUY_AND_HOLD: "buy-and-hold",
    "price": "price only",
    "price_onchain": "price + on-chain",
    "price_onchain_sentiment": "price + on-chain + sentiment",
}
STEP_TITLES = {
    "price": "price model vs buy-and-hold",
    "price_onchain": "on-chain vs price only",
    "price_onchain_sentiment": "sentiment vs price + on-chain",
}


def num(v: Any, kind: str = "") -> str:
    """One spelling of numbers in the text forms: percentages, signed figures, counts."""
    if v is None:
        return "–"
    if kind == "pct":
        return f"{v:+.1%}" if abs(v) < 10 else f"{v:+,.0%}"
    if kind == "rate":
        return f"{v:.1%}"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "signed":
        return f"{v:+.2f}"
    return f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"


def day(iso: str | None) -> str:
    return "–" if iso is None else iso[:10]


def history(arm: dict[str, Any]) -> str:
    h = arm.get("history") or {}
    if not h.get("usable_rows"):
        return "none"
    return f"{num(h['usable_rows'], 'int')} rows, {day(h.get('first'))} .. {day(h.get('last'))}"


def interval(i: dict[str, Any]) -> str:
    if i.get("estimate") is None:
        return "–"
    return f"{i['estimate']:+.2f} [{i['low']:+.2f}, {i['high']:+.2f}]"


def arm_line(name: str, arm: dict[str, Any]) -> str:
    """``Sharpe / return / max DD / hit rate / IC / ECE`` of one arm, or why it did not run."""
    if arm["status"] != "ok":
        return arm["status"]
    m = arm["metrics"]
    parts = [
        num(m.get("sharpe")),
        num(m.get("total_return"), "pct"),
        num(m.get("max_drawdown"), "pct"),
    ]
    if name != BUY_AND_HOLD:
        parts += [num(m.get("hit_rate"), "rate"), num(m.get("ic")), num(m.get("calibration_error"))]
    return " / ".join(parts)


def summary_lines(card: dict[str, Any]) -> list[str]:
    """What ``fusion backtest`` prints after the run: a few lines a person reads at once."""
    man = card["manifest"]
    candles = man["data"]["candles"]
    arms = card["arms"]
    bh = arms[BUY_AND_HOLD]["metrics"]
    lines = [
        f"{card['asset']} {card['timeframe']}: {num(candles['rows'], 'int')} candles "
        f"({day(candles['first'])} .. {day(candles['last'])}), {card['summary']['folds']} "
        f"folds, {num(bh.get('bars'), 'int')} out-of-sample bars, horizon "
        f"{man['settings']['horizon']}, costs {man['settings']['fee_bps']:g}+"
        f"{man['settings']['slippage_bps']:g} bps a side",
        "arm: Sharpe / total return / max drawdown / hit rate / IC / calibration error; history",
    ]
    for name in (BUY_AND_HOLD, *ARMS):
        arm = arms[name]
        lines.append(f"  {ARM_TITLES[name]}: {arm_line(name, arm)}; {history(arm)}")
    lines += [f"  {s}" for s in card["summary"]["statements"]]
    o = card["overfitting"]
    pbo = o["pbo"]
    dsr = o["dsr"]
    lines.append(
        f"overfitting: PBO {num(pbo['pbo']) if pbo else '– (' + str(o['pbo_note']) + ')'}"
        + (f" over {pbo['variants']} variants" if pbo else "")
        + f"; deflated Sharpe of the chosen {num(dsr['dsr']) if dsr else '–'}"
    )
    lines.append(f"promotion gate: {card['summary']['gate']}")
    return lines


def markdown_table(cards: list[dict[str, Any]]) -> str:
    """One column per card: the figures the README quotes, each from the card itself."""
    heads = [f"{c['asset']} {c['timeframe']}" for c in cards]
    rows: list[tuple[str, list[str]]] = []

    def row(title: str, fn: Any) -> None:
        rows.append((title, [fn(c) for c in cards]))

    row(
        "candles",
        lambda c: (
            f"{num(c['manifest']['data']['candles']['rows'], 'int')} "
            f"({day(c['manifest']['data']['candles']['first'])} .. "
            f"{day(c['manifest']['data']['candles']['last'])})"
        ),
    )
    row(
        "folds; out-of-sample bars",
        lambda c: (
            f"{c['summary']['folds']}; {num(c['arms'][BUY_AND_HOLD]['metrics'].get('bars'), 'int')}"
        ),
    )
    row(
        "buy-and-hold: Sharpe / return / max DD",
        lambda c: arm_line(BUY_AND_HOLD, c["arms"][BUY_AND_HOLD]),
    )
    for name in ARMS:
        row(
            f"{ARM_TITLES[name]}: Sharpe / return / max DD / hit / IC / ECE",
            lambda c, n=name: arm_line(n, c["arms"][n]),
        )
    for name in ARMS:
        row(f"history of {ARM_TITLES[name]}", lambda c, n=name: history(c["arms"][n]))
    for step in card_steps(cards):
        row(
            f"{STEP_TITLES.get(step, step)}: Sharpe diff [95%]",
            lambda c, s=step: _step(c, s),
        )
    row("PBO (variants) / DSR of the chosen", _overfit)
    row("promotion gate", lambda c: c["summary"]["gate"])
    out = ["| | " + " | ".join(heads) + " |", "|---" * (len(cards) + 1) + "|"]
    out += [f"| {title} | " + " | ".join(cells) + " |" for title, cells in rows]
    return "\n".join(out)


def card_steps(cards: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(a["arm"] for c in cards for a in c["ablation"]))


def _step(card: dict[str, Any], arm: str) -> str:
    step = next((a for a in card["ablation"] if a["arm"] == arm), None)
    if step is None:
        return "–"
    if step["note"] is not None:
        return f"not compared ({step['note']})"
    return f"{interval(step['sharpe_diff'])}: {step['verdict']}"


def _overfit(card: dict[str, Any]) -> str:
    o = card["overfitting"]
    pbo = f"{num(o['pbo']['pbo'])} ({o['pbo']['variants']})" if o["pbo"] else "–"
    dsr = num(o["dsr"]["dsr"]) if o["dsr"] else "–"
    return f"{pbo} / {dsr}"
