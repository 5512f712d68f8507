"""``cryptosense brief --date D [--asof ISO] [--seed N]``: the daily briefing, stored and
written as Markdown and self-contained HTML under ``<data_dir>/briefings/``; ``--list``
lists the stored ones.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from cryptosense.commands.args import iso_time
from cryptosense.commands.common import open_store

if TYPE_CHECKING:
    from core.settings import Settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def register(sub: Any) -> None:
    """Add ``brief`` to the parser."""
    s = sub.add_parser(
        "brief",
        help="write the daily briefing (Markdown and HTML), or list stored ones",
        description="The analyst's daily briefing per covered asset and for the market, from "
        "the stored data known at the as-of time (default: the end of the day).",
    )
    s.add_argument("--date", type=_day, help="the day (YYYY-MM-DD); default today (UTC)")
    s.add_argument("--asof", type=iso_time, help="as of this time (ISO, UTC)")
    s.add_argument("--seed", type=int, default=0, help="tie-break seed (default 0)")
    s.add_argument("--list", action="store_true", help="list stored briefings")
    s.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from agent.briefing import make_briefing
    from agent.service import Agent
    from core.times import utcnow

    with open_store(settings) as store:
        if args.list:
            for meta in store.briefings.list():
                print(
                    f"{meta.day}  asof {meta.asof.isoformat()}  seed {meta.seed}  "
                    f"sha256 {meta.sha256[:12]}"
                )
            return 0
        day = args.date or utcnow().date()
        agent = Agent.from_settings(settings, store, llm=False)
        briefing = make_briefing(agent, day, asof=args.asof, seed=args.seed)
        store.briefings.put(briefing)
    folder = settings.data_dir / "briefings"
    folder.mkdir(parents=True, exist_ok=True)
    md, html = folder / f"{day}.md", folder / f"{day}.html"
    md.write_text(briefing.markdown, encoding="utf-8")
    html.write_text(briefing.html, encoding="utf-8")
    print(f"briefing {day} as of {briefing.asof.isoformat()}: {md} {html}")
    return 0
