"""`cryptosense collect` and `cryptosense sources` through cryptosense.cli.main, against feeds
served from 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from core.store import Store
from cryptosense.cli import main
from tests.loopback import LoopbackServer, Reply

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>CLI feed</title>
<item><title>Bitcoin climbs as ETF inflows return</title>
<link>https://cli.example/btc-climbs?utm_source=rss</link>
<pubDate>Wed, 14 Jan 2026 09:30:00 GMT</pubDate>
<description>BTC rose 3% while $ETH lagged.</description></item>
<item><title>Dogecoin jumps after checkout launch</title><link>https://cli.example/doge</link>
<pubDate>sometime soon</pubDate><description>DOGE up 12%.</description></item>
</channel></rss>"""
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir for main(), which reads its settings from the environment; retries off
    so failing sources fail fast."""
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CRYPTOSENSE_HTTP__RETRIES", "0")
    monkeypatch.setenv("CRYPTOSENSE_HTTP__TIMEOUT_S", "1")
    return settings.data_dir


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_dry_run_prints_valid_json_lines_and_stores_nothing(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/feed.xml", Reply(200, FEED, RSS))

    code = main(["collect", "--source", "rss", "--url", loopback.url("/feed.xml"), "--dry-run"])

    captured = capsys.readouterr()
    assert code == 0
    first, second = json_lines(captured.out)
    assert {"id", "url", "title", "published_at", "ingested_at", "assets", "warnings"} <= set(first)
    assert first["url"] == "https://cli.example/btc-climbs"
    assert first["title"] == "Bitcoin climbs as ETF inflows return"
    assert first["published_at"] == "2026-01-14T09:30:00+00:00"
    assert first["assets"] == ["BTC", "ETH"]
    assert first["warnings"] == []
    assert first["source"] == "rss:127.0.0.1"
    assert second["warnings"] == ["bad-date"]
    assert "bad-date" in captured.err  # warnings are logged to stderr too
    assert not (data_dir / "cryptosense.db").exists()


def test_dry_run_lists_feed_level_warnings_in_every_object(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/broken.xml", Reply(200, FEED.replace("</channel></rss>", "<item>"), RSS))

    code = main(["collect", "--source", "rss", "--url", loopback.url("/broken.xml"), "--dry-run"])

    captured = capsys.readouterr()
    assert code == 0
    lines = json_lines(captured.out)
    assert len(lines) == 2
    assert all("malformed-xml" in line["warnings"] for line in lines)
    assert "malformed-xml" in captured.err


def test_collect_stores_and_prints_a_summary_then_duplicates_on_rerun(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/feed.xml", Reply(200, FEED, RSS))
    argv = ["collect", "--source", "rss", "--url", loopback.url("/feed.xml"), "--name", "cli"]

    assert main(argv) == 0
    assert main(argv) == 0

    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("rss:cli: 2 new, 0 duplicate")
    assert second.startswith("rss:cli: 0 new, 2 duplicate")
    store = Store.open(f"sqlite:///{data_dir / 'cryptosense.db'}")
    try:
        assert store.documents.count() == 2
    finally:
        store.close()


def test_unknown_source_exits_2_with_a_clear_message(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["collect", "--source", "telepathy", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown source 'telepathy'" in err and "rss" in err
    assert "Traceback" not in err


def test_source_error_exits_2_without_traceback(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/page", Reply(200, "<html><body><p>not a feed</p></body></html>", {}))

    code = main(["collect", "--source", "rss", "--url", loopback.url("/page"), "--dry-run"])

    captured = capsys.readouterr()
    assert code == 2
    assert "not-a-feed" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_failed_source_without_dry_run_exits_2_and_is_recorded(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/down.xml", Reply(500, "down"))

    code = main(["collect", "--source", "rss", "--url", loopback.url("/down.xml"), "--name", "d"])

    assert code == 2
    assert "rss:d failed: http-500" in capsys.readouterr().err


def test_url_that_is_not_http_exits_2(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["collect", "--source", "rss", "--url", "file:///etc/passwd", "--dry-run"])
    assert code == 2
    assert "http(s) URL" in capsys.readouterr().err


def test_since_must_be_an_iso_date(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["collect", "--source", "rss", "--since", "last tuesday", "--dry-run"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 date or time" in capsys.readouterr().err


def test_sources_shows_health_and_an_open_circuit(
    loopback: LoopbackServer, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.route("/feed.xml", Reply(200, FEED, RSS))
    loopback.route("/down.xml", Reply(503, "down"))
    assert (
        main(["collect", "--source", "rss", "--url", loopback.url("/feed.xml"), "--name", "ok"])
        == 0
    )
    for _ in range(5):
        main(["collect", "--source", "rss", "--url", loopback.url("/down.xml"), "--name", "down"])
    capsys.readouterr()

    assert main(["sources"]) == 0

    header, down, ok = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "SOURCE",
        "CIRCUIT",
        "LAST",
        "SUCCESS",
        "LAST",
        "ERROR",
        "ITEMS",
        "TODAY",
    ]
    assert down.startswith("rss:down") and "open until" in down and "http-503" in down
    assert ok.startswith("rss:ok") and "closed" in ok and ok.rstrip().endswith("2")


def test_sources_before_any_poll_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources"]) == 0
    assert "No source has been polled yet" in capsys.readouterr().out
