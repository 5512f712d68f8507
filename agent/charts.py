"""Small inline SVG charts for briefings: drawn here, deterministic, no libraries."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H, PAD = 480, 160, 28


def line_chart(
    title: str, points: Sequence[tuple[str, float]], *, lo: float = 0.0, hi: float = 100.0
) -> str:
    """A polyline of ``(label, value)`` points on a fixed ``lo..hi`` scale, as an SVG element."""
    n = len(points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#ccc"/>',
    ]
    mid = H - PAD - (50 - lo) / (hi - lo) * (H - 2 * PAD)
    parts.append(
        f'<line x1="{PAD}" y1="{mid:.1f}" x2="{W - PAD}" y2="{mid:.1f}" '
        'stroke="#bbb" stroke-dasharray="4 3"/>'
    )
    if n:
        step = (W - 2 * PAD) / max(1, n - 1)
        xy = [
            (PAD + i * step, H - PAD - (min(max(v, lo), hi) - lo) / (hi - lo) * (H - 2 * PAD))
            for i, (_, v) in enumerate(points)
        ]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1f5fbf"/>' for x, y in xy]
        parts.append(f'<text x="{PAD}" y="{H - 8}" font-size="10">{escape(points[0][0])}</text>')
        parts.append(
            f'<text x="{W - PAD}" y="{H - 8}" font-size="10" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append(f'<text x="{PAD}" y="16" font-size="12">{escape(title)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, bars: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars around zero (e.g. sentiment changes per asset), as an SVG element."""
    height = PAD + 22 * max(1, len(bars)) + 8
    top = max((abs(v) for _, v in bars), default=1.0) or 1.0
    mid = W / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{W}" height="{height}" fill="#fff" stroke="#ccc"/>',
        f'<text x="8" y="16" font-size="12">{escape(title)}</text>',
        f'<line x1="{mid}" y1="{PAD - 4}" x2="{mid}" y2="{height - 4}" stroke="#999"/>',
    ]
    for i, (label, v) in enumerate(bars):
        y = PAD + 22 * i
        w = abs(v) / top * (W / 2 - 70)
        x = mid if v >= 0 else mid - w
        color = "#2e8b57" if v >= 0 else "#c0392b"
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="16" fill="{color}"/>'
        )
        parts.append(f'<text x="8" y="{y + 12}" font-size="11">{escape(label)}</text>')
        parts.append(
            f'<text x="{W - 8}" y="{y + 12}" font-size="11" text-anchor="end">{v:+.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
