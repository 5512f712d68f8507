"""Feeds the RSS collector refused although they are valid: UTF-16 and UTF-32 bodies with and
without a byte-order mark, JSON Feed documents; and a doubled UTF-8 BOM that hid the DOCTYPE
from the entity guard. All served from 127.0.0.1 to the real collector.

The 12 encoding cases mirror feedparser's own ``tests/encoding/utf-{16,32}{be,le}*.xml``
(a BOM; no BOM with the exact encoding declared; no BOM with the generic ``utf-16`` or
``utf-32`` declared, which only the shape of the first bytes resolves). They are not in the
shared copy of feedparser's corpus, so they are built here from one feed text.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.live.rss import FeedparserCollector
from collectors.parsers.feed import sniff_wide_encoding
from collectors.parsers.xml_guard import guard_dtd
from core.settings import HttpSettings
from tests.loopback import LoopbackServer, Reply

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HTTP = HttpSettings(timeout_s=2, retries=0)
DATA = Path(__file__).resolve().parents[2] / "data" / "feeds"
FEED = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>Encodage café</title>
<item><title>Bitcoin grimpe à 100 000 € au café</title>
<link>https://news.example.com/2026/01/btc-cafe</link>
<pubDate>Wed, 14 Jan 2026 09:30:00 GMT</pubDate>
<description>Le BTC franchit un cap symbolique.</description></item>
</channel></rss>
"""
BOMS = {
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
}


def encoded(codec: str, variant: str) -> bytes:
    family = codec[:6]  # utf-16 or utf-32
    if variant == "bom":
        return BOMS[codec] + FEED.format(encoding=family).encode(codec)
    if variant == "declared":
        return FEED.format(encoding=codec.replace("-be", "be").replace("-le", "le")).encode(codec)
    return FEED.format(encoding=family).encode(codec)  # "autodetect": the byte shape decides


def collect(
    loopback: LoopbackServer, body: bytes, content_type: str, path: str = "/feed"
) -> CollectResult:
    loopback.route(path, Reply(200, body, {"Content-Type": content_type}))
    collector = FeedparserCollector(
        "formats", loopback.url(path), http=HTTP, tagger=AssetTagger(), clock=lambda: NOW
    )
    return collector.collect({})


@pytest.mark.parametrize("variant", ["bom", "declared", "autodetect"])
@pytest.mark.parametrize("codec", sorted(BOMS))
def test_utf16_and_utf32_feeds_with_or_without_bom_become_documents(
    loopback: LoopbackServer, codec: str, variant: str
) -> None:
    result = collect(loopback, encoded(codec, variant), "application/xml")

    (doc,) = result.documents
    assert doc.title == "Bitcoin grimpe à 100 000 € au café"
    assert doc.text == "Le BTC franchit un cap symbolique."
    assert doc.published_at == datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
    assert {w.reason for w in result.warnings} == set()


@pytest.mark.parametrize("codec", sorted(BOMS))
def test_wide_feed_without_bom_or_declaration_after_blank_lines_is_recognised(
    codec: str,
) -> None:
    body = "\n\n<rss version='2.0'><channel><title>t</title></channel></rss>".encode(codec)
    assert sniff_wide_encoding(body) == (codec, 4 if "32" in codec else 2)
    assert sniff_wide_encoding(b"\n\n<rss version='2.0'>") is None  # UTF-8 stays UTF-8


def test_json_feed_items_become_documents(loopback: LoopbackServer) -> None:
    body = (DATA / "crypto-desk.json").read_bytes()
    result = collect(loopback, body, "application/feed+json", path="/feed.json")

    docs = {d.source_id: d for d in result.documents}
    assert set(docs) == {"https://desk.example.com/2026/01/eth-upgrade", "2", "3"}
    eth = docs["https://desk.example.com/2026/01/eth-upgrade"]
    assert eth.url == "https://desk.example.com/2026/01/eth-upgrade"  # tracking param dropped
    assert eth.title == "Ethereum developers set a date for the next upgrade"
    assert eth.text.startswith("Core developers agreed on a mainnet date")
    assert eth.published_at == datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
    assert eth.author == "Dana Ledger"
    assert eth.assets == ("ETH",)
    assert eth.metadata["feed_title"].startswith("Crypto Desk")
    assert eth.metadata["categories"] == ["ethereum", "upgrades"]
    btc = docs["2"]
    assert btc.url == loopback.url("/2026/01/btc-etf-flows")  # relative to the feed
    assert btc.text == "Spot BTC funds took in $200m."  # HTML read, the script dropped
    assert btc.published_at == datetime(2026, 1, 14, 7, 0, tzinfo=UTC)
    assert docs["3"].url is None and docs["3"].assets == ("SOL",)
    assert sorted(w.reason for w in result.warnings) == ["bad-entry", "no-id"]
    assert result.extra["version"] == "json11"


def test_json_feed_served_as_plain_json_or_untyped_is_read_too(loopback: LoopbackServer) -> None:
    body = (DATA / "crypto-desk.json").read_bytes()
    assert len(collect(loopback, body, "application/json", "/a.json").documents) == 3
    assert len(collect(loopback, body, "text/plain", "/b.json").documents) == 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"version": "1", "items": []}', "without a jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "without an items"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
        (b"[1, 2, 3]", "not a JSON Feed object"),
    ],
    ids=["other-json", "items-not-a-list", "cut-json", "json-array"],
)
def test_json_that_is_no_json_feed_is_not_a_feed(
    loopback: LoopbackServer, body: bytes, expected: str
) -> None:
    with pytest.raises(SourceError) as err:
        collect(loopback, body, "application/json")
    assert err.value.reason == "not-a-feed"
    assert expected in err.value.detail


def test_rss_served_with_a_json_media_type_is_still_read_as_rss(loopback: LoopbackServer) -> None:
    body = FEED.format(encoding="utf-8").encode()
    (doc,) = collect(loopback, body, "application/json").documents
    assert doc.title.startswith("Bitcoin grimpe")


@pytest.mark.parametrize("boms", [2, 3])
def test_doubled_utf8_bom_does_not_hide_an_external_entity_from_the_guard(
    loopback: LoopbackServer, tmp_path: Path, boms: int
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>Bitcoin &xxe; news</title>'
        "<link>https://news.example.com/a</link><description>leak: &xxe;</description>"
        "</item></channel></rss>"
    )
    result = collect(loopback, codecs.BOM_UTF8 * boms + feed.encode(), "application/rss+xml")

    (doc,) = result.documents
    assert "TOP-SECRET-MARKER" not in doc.title + doc.text
    assert doc.title == "Bitcoin news"
    assert "xml-external-entity" in {w.reason for w in result.warnings}


def test_guard_sees_a_doctype_behind_any_number_of_byte_order_marks() -> None:
    text = '\ufeff\ufeff \ufeff<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss/>'
    guarded, problems = guard_dtd(text)
    assert "ENTITY" not in guarded
    assert [reason for reason, _ in problems] == ["xml-external-entity"]
