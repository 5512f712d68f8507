"""Every file of feedparser's own test corpus (``real_data/feeds``, third-party, read at run time)
goes through FeedparserCollector, served from 127.0.0.1 with the HTTP headers the file asks for,
without an exception. Files the corpus expects to be ill-formed (``Expect: bozo``) yield what can
be recovered plus a recorded warning; well-formed ones parse without an XML or encoding warning.
Skips with a reason when the data is absent."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.live.rss import FeedparserCollector
from core.settings import HttpSettings
from tests.loopback import LoopbackServer, Reply, serve

HTTP = HttpSettings(timeout_s=5, retries=0)
_HEADER = re.compile(rb"^Header:\s*([\w-]+):[ \t]*(.*?)\s*$", re.MULTILINE)
_EXPECT = re.compile(rb"^\s*Expect:\s*(.*?)\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def corpus_server() -> Iterator[LoopbackServer]:
    """One server for the whole corpus (a route per file): starting one per file is slow."""
    with serve() as server:
        yield server


def _corpus() -> list[str]:
    """Files to check, relative to the corpus folder; one placeholder when it is absent so the
    test reports a skip instead of vanishing."""
    raw = os.environ.get("CRYPTOSENSE_REAL_DATA")
    folder = Path(raw) / "feeds" if raw else None
    if folder is None or not folder.is_dir():
        return ["(corpus absent)"]
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("LICENSE")
    )


def _expects_bozo(data: bytes) -> bool:
    """Whether the file's own ``Expect:`` line says feedparser flags it as ill-formed."""
    m = _EXPECT.search(data[:4096])
    return m is not None and b"bozo" in m.group(1) and b"not bozo" not in m.group(1)


def _headers(data: bytes) -> dict[str, str]:
    """The ``Header:`` lines of the file's leading comment, as response headers."""
    headers = {"Content-Type": "application/xml"}
    for m in _HEADER.finditer(data[:4096]):
        headers[m.group(1).decode("ascii")] = m.group(2).decode("latin-1")
    return headers


@pytest.mark.parametrize("rel", _corpus())
def test_corpus_feed_goes_through_the_collector(
    rel: str, real_data: Path, corpus_server: LoopbackServer
) -> None:
    folder = real_data / "feeds"
    if not (folder / rel).is_file():
        pytest.skip(f"no feed corpus at {folder}")
    data = (folder / rel).read_bytes()
    path = f"/{rel}"
    corpus_server.route(path, Reply(200, data, _headers(data)))
    collector = FeedparserCollector(
        "corpus", corpus_server.url(path), http=HTTP, tagger=AssetTagger()
    )

    try:
        result: CollectResult | SourceError = collector.collect({})
    except SourceError as err:  # the designed outcome for a body that is no feed at all
        result = err

    if isinstance(result, SourceError):
        assert result.reason == "not-a-feed", rel
        assert rel.startswith("illformed/"), f"{rel}: well-formed feed refused: {result}"
        return
    reasons = {w.reason for w in result.warnings}
    assert all(w.source == "rss:corpus" for w in result.warnings)
    if _expects_bozo(data):
        assert reasons, f"{rel}: ill-formed feed parsed without any warning"
    elif rel.startswith("wellformed/"):
        assert not reasons & {"malformed-xml", "encoding-repaired"}, f"{rel}: {reasons}"
    for doc in result.documents:
        assert doc.source == "rss:corpus"
        assert doc.title or doc.text
        assert "<script" not in doc.text.lower() and "javascript:" not in doc.text.lower()
