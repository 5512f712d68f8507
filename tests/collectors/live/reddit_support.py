"""What the Reddit poller tests share: where the recordings are, what r/CryptoCurrency's
recording holds, and small helpers over collectors and replays. The fixtures that build
settings and replays are in this folder's conftest.py."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from collectors.live.reddit import RedditCollector
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from core.records import Document
from core.settings import Settings
from tests.collectors.reddit_replay import RedditReplay

DATA = Path(__file__).resolve().parents[2] / "data" / "reddit"
ROOT = Path(__file__).resolve().parents[3]
CC = "CryptoCurrency"
CLI = (sys.executable, "-m", "cryptosense")

# What r/CryptoCurrency's recording holds (limit 5 per listing, 4 comments per post).
CC_POSTS = {
    "t3_1bcq7xa",  # ATH thread (new + hot)
    "t3_1bcpz3k",  # memecoin rug pulls (new + hot)
    "t3_1bcpqvm",  # link post: SEC delays ETH ETF
    "t3_1bcpl0d",  # ELI5 gas fees, no comments
    "t3_1bc3n0p",  # stickied daily discussion
    "t3_1bc9k2t",  # not your keys, no comments
    "t3_1bcb1uu",  # DCA into ETH
}
CC_REMOVED_POST = "t3_1bcpwr2"
CC_COMMENTS = {
    "t1_kuf3a1b",
    "t1_kuf2v4d",
    "t1_kuf2q1e",
    "t1_kuezx1a",
    "t1_kuezp3c",
    "t1_kuezk4d",
    "t1_kuexa1a",
    "t1_kuex71b",
    "t1_kuex22c",
    "t1_kudm1a1",
    "t1_kudl9b2",
    "t1_kudk3c3",
    "t1_kue4aa1",
    "t1_kue3bb2",
}
CC_GONE_COMMENTS = {"t1_kuf2z9c", "t1_kuezt2b"}  # [deleted], [removed]
CC_MORE_STUB = "t1_kuf2m7f"
# Posts whose comments the first poll fetches (the others have none), in listing order.
CC_THREADS = ["1bcq7xa", "1bcpz3k", "1bcpqvm", "1bc3n0p", "1bcb1uu"]

MakeSettings = Callable[..., Settings]


def one_collector(settings: Settings, subreddit: str = CC) -> RedditCollector:
    [collector] = build_source("reddit", settings, CollectOptions(subreddit=subreddit))
    return collector


def by_source_id(docs: tuple[Document, ...] | list[Document]) -> dict[str | None, Document]:
    return {d.source_id: d for d in docs}


def comment_paths(rr: RedditReplay) -> list[str]:
    return [r.path.strip("/").split("/")[1] for r in rr.api_requests if r.path.startswith("/comm")]
