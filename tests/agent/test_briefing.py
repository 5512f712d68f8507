"""The daily briefing: every section and image present, deterministic, stored and listed."""

from __future__ import annotations

import base64
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.briefing import SECTIONS, make_briefing
from cryptosense.cli import main
from tests.agent.conftest import NOW, MakeAgent
from tests.agent.test_cli_ask import data_dir  # noqa: F401 - fixture

DAY = (NOW - timedelta(days=1)).date()


class _Parts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.sections: list[str] = []
        self.svgs = 0
        self.polylines = 0
        self.rects = 0
        self.links: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.ids.append(a["id"] or "")
        if a.get("data-section"):
            self.sections.append(a["data-section"] or "")
        self.svgs += tag == "svg"
        self.polylines += tag == "polyline"
        self.rects += tag == "rect"
        if tag == "a":
            self.links.append(a.get("href") or "")
        if tag in ("img", "script", "link", "iframe") or (tag == "image"):
            self.external.append(tag)


def test_html_has_every_section_and_chart(make_agent: MakeAgent) -> None:
    b = make_briefing(make_agent(), DAY)
    p = _Parts()
    p.feed(b.html)
    assets = ["BTC", "ETC", "ETH"]
    assert p.ids == ["market"] + [f"asset-{a}" for a in assets]
    assert p.sections == list(SECTIONS) * len(assets)
    assert p.svgs == 1 + len(assets)  # the market's bars, one sentiment chart per asset
    assert p.polylines == len(assets) and p.rects > len(assets)
    assert p.external == []  # self-contained: nothing loaded from elsewhere
    assert p.links and all(u.startswith("https://news.example.com/") for u in p.links)
    assert "ledger hit rate" in b.html and "report card" in b.html


def test_markdown_embeds_decodable_svg_images(make_agent: MakeAgent) -> None:
    md = make_briefing(make_agent(), DAY).markdown
    images = [line for line in md.splitlines() if line.startswith("![")]
    assert len(images) == 4
    for line in images:
        svg = base64.b64decode(line.split("base64,")[1].rstrip(")")).decode()
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    for title in (
        "### Sentiment",
        "### Top stories",
        "### What moved sentiment",
        "### Price and on-chain",
        "### Signal and its record",
        "### Risk flags",
    ):
        assert md.count(title) == 3


def test_same_data_asof_and_seed_give_the_same_briefing(make_agent: MakeAgent) -> None:
    a = make_briefing(make_agent(), DAY, seed=3)
    b = make_briefing(make_agent(), DAY, seed=3)
    assert a.markdown == b.markdown and a.html == b.html
    early = make_briefing(make_agent(), DAY - timedelta(days=5))
    assert early.asof < a.asof and early.html != a.html


def test_brief_command_writes_stores_and_lists(
    data_dir: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    asof = NOW.isoformat().replace("+00:00", "Z")
    assert main(["brief", "--date", DAY.isoformat(), "--asof", asof]) == 0
    html = data_dir / "briefings" / f"{DAY}.html"
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert main(["brief", "--list"]) == 0
    assert str(DAY) in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["brief", "--date", "yesterday"])
    assert exit_.value.code == 2
    assert "is not a day" in capsys.readouterr().err
