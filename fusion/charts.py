"""Hand-written SVG charts for the report card: no external assets, and the same input gives
the same bytes (coordinates are rounded, nothing random or dated is embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

COLOURS = ("#1f77b4", "#7f7f7f", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e")
W, H = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 36

Point = tuple[str, float]


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / (n - 1)
    return [lo + i * step for i in range(n)]


def line_chart(series: dict[str, Sequence[Point]], title: str, *, percent: bool = False) -> str:
    """Lines over time; ``series`` maps a name to (ISO time, value) points."""
    pts = [(n, [(_t(t), v) for t, v in s]) for n, s in series.items() if s]
    if not pts:
        return f'<p class="empty">{escape(title)}: no data</p>'
    xs = [x for _, s in pts for x, _ in s]
    ys = [y for _, s in pts for _, y in s]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 1.0, y1 + 1.0
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0 or 1.0) * pw

    def sy(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
    ]
    for v in _ticks(y0, y1):
        y = sy(v)
        label = f"{v:.0%}" if percent else f"{v:.3g}"
        out.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{label}</text>'
        )
    for v in _ticks(x0, x1):
        x = sx(v)
        label = datetime.fromtimestamp(v, tz=UTC).strftime("%Y-%m-%d")
        out.append(
            f'<text x="{x:.1f}" y="{H - 14}" font-size="11" text-anchor="middle">{label}</text>'
        )
    for k, (name, s) in enumerate(pts):
        colour = COLOURS[k % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>'
            f'<text x="{LEFT + 8 + 170 * k}" y="{TOP + 14}" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def bar_chart(values: Sequence[tuple[str, float]], title: str) -> str:
    """Horizontal bars, largest first (feature importance)."""
    if not values:
        return f'<p class="empty">{escape(title)}: no data</p>'
    row = 18
    height = TOP + row * len(values) + 10
    label_w = 190
    top = max(v for _, v in values) or 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="{W}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, v) in enumerate(values):
        y = TOP + i * row
        w = max(0.0, v / top * (W - label_w - 70))
        out.append(
            f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 5}" '
            f'fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}" font-size="11">{v:.1%}</text>'
        )
    out.append("</svg>")
    return "".join(out)
