"""Archive backfill: JSONL/CSV news and Reddit dumps keep their original times, bad rows become
warnings with row numbers, and an interrupted import resumes with no duplicates and no gaps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard

from collectors.assets import AssetTagger
from collectors.importers.archive import (
    ArchiveError,
    ArchiveSpec,
    backfill,
    parse_date,
    unescape_literals,
)
from core.records import SourceFamily, document_id
from core.store import Store
from core.store.tables import DocumentRow
from cryptosense.cli import main

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2024, 6, 1, tzinfo=UTC)
T0 = datetime(2022, 3, 1, 9, 30, tzinfo=UTC)


def news_rows(n: int, *, start: int = 0) -> list[dict[str, object]]:
    return [
        {
            "title": f"Bitcoin miners report output for week {i}",
            "text": f"Miners said hash rate rose again in week {i} as ETH fees eased and BTC held.",
            "published_at": (T0 + timedelta(hours=i)).isoformat(),
            "url": f"https://news.example.com/markets/miners-week-{i}?utm_source=feed",
        }
        for i in range(start, start + n)
    ]


def short_rows(n: int) -> list[dict[str, object]]:
    """Rows too short for language detection: cheap, for tests that need many rows."""
    return [
        {
            "title": f"BTC wk {i}",
            "published_at": (T0 + timedelta(minutes=i)).isoformat(),
            "url": f"https://news.example.com/w/{i}",
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run(store: Store, spec: ArchiveSpec):  # type: ignore[no-untyped-def]
    return backfill(store, spec, AssetTagger(), progress=False, now=NOW)


def stored_rows(store: Store) -> list[DocumentRow]:
    from sqlmodel import select

    with store.session() as s:
        return list(s.exec(select(DocumentRow)).all())


# --- formats -----------------------------------------------------------------------------


def test_jsonl_news_archive_keeps_original_times_and_marks_backfill(
    store: Store, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", news_rows(5))
    summary = run(store, ArchiveSpec(path=path, format="news-jsonl", source="archive:test"))

    assert (summary.rows_read, summary.stored, summary.warnings) == (5, 5, 0)
    assert summary.complete
    doc = store.documents.get(document_id(url="https://news.example.com/markets/miners-week-3"))
    assert doc is not None
    assert doc.published_at == T0 + timedelta(hours=3)
    assert doc.ingested_at == doc.published_at  # the archive's time is when it was visible
    assert doc.metadata["backfill"] is True
    assert doc.metadata["imported_at"] == NOW.isoformat()
    assert doc.source == "archive:test"
    assert doc.url == "https://news.example.com/markets/miners-week-3"  # tracking param gone
    assert set(doc.assets) == {"BTC", "ETH"}
    assert doc.lang == "en"


def test_csv_archive_with_semicolons_day_first_dates_and_literal_escapes(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "crypto news.csv"
    path.write_text(
        "date;sentiment;source;headline;body;link\n"
        "5-7-2022 04:24;{'class': 'neutral'};CryptoNews;Bitcoin returns above USD 20K;"
        "Bitcoin climbed above the USD 20,000 resistance.\\xa0Ether jumped over 9%.\\r\\n;"
        "https://cryptonews.example/news/btc-20k.htm\n"
        "13-7-2022 18:05;{'class': 'negative'};CoinDesk;\"Solana; outage, again\";"
        '"Validators restarted the chain after \\x9cconsensus issues\\x9d, the team said.";'
        "https://coindesk.example/solana-outage\n",
        encoding="utf-8",
    )
    spec = ArchiveSpec(
        path=path,
        format="news-csv",
        source="cryptonews",
        title_col="headline",
        text_col="body",
        url_col="link",
        date_format="%d-%m-%Y %H:%M",
    )
    summary = run(sqlite_store, spec)

    assert (summary.rows_read, summary.stored, summary.warnings) == (2, 2, 0)
    btc = sqlite_store.documents.get(document_id(url="https://cryptonews.example/news/btc-20k.htm"))
    sol = sqlite_store.documents.get(document_id(url="https://coindesk.example/solana-outage"))
    assert btc is not None and sol is not None
    assert btc.published_at == datetime(2022, 7, 5, 4, 24, tzinfo=UTC)
    assert btc.text == "Bitcoin climbed above the USD 20,000 resistance. Ether jumped over 9%."
    assert "\\x" not in btc.text and "\\r" not in btc.text
    assert sol.title == "Solana; outage, again"
    assert sol.text == "Validators restarted the chain after “consensus issues”, the team said."
    assert sol.assets == ("SOL",)


def test_csv_delimiter_is_sniffed_and_unknown_column_is_refused(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "tabs.csv"
    path.write_text(
        "published\ttitle\turl\n2021-11-02T10:00:00Z\tDogecoin rallies on meme revival\t"
        "https://x.example/doge\n",
        encoding="utf-8",
    )
    assert run(sqlite_store, ArchiveSpec(path=path, format="news-csv")).stored == 1
    with pytest.raises(ArchiveError, match="--text-col 'body' is not a column"):
        run(sqlite_store, ArchiveSpec(path=path, format="news-csv", text_col="body", restart=True))


def test_csv_row_with_wrong_field_count_is_a_warning_and_bad_bytes_are_flagged(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b"title,text,date,url\r\n"
        b'Ripple wins ruling,"The court said XRP sales on\r\nexchanges were fine.",'
        b"2023-07-13,https://x.example/xrp\r\n"
        b"Too,many,fields,here,really\r\n"
        b"Caf\xe9 accepts Litecoin,Paid in LTC,2023-07-14,https://x.example/ltc\r\n"
    )
    summary = run(sqlite_store, ArchiveSpec(path=path, format="news-csv", source="odd"))

    assert (summary.rows_read, summary.stored, summary.warnings) == (3, 2, 1)
    (warning,) = sqlite_store.sources.warnings("odd")
    assert warning.reason == "bad-csv" and warning.detail.startswith("odd.csv row 2:")
    xrp = sqlite_store.documents.get(document_id(url="https://x.example/xrp"))
    ltc = sqlite_store.documents.get(document_id(url="https://x.example/ltc"))
    assert xrp is not None and xrp.text == "The court said XRP sales on\nexchanges were fine."
    assert ltc is not None and ltc.warnings == ("bad-utf8",) and ltc.assets == ("LTC",)


def write_reddit_dump(path: Path) -> Path:
    things = [
        {
            "id": "q1abc",
            "subreddit": "Bitcoin",
            "title": "Bought my first whole bitcoin today",
            "selftext": "Took me four years of DCA &amp; patience. HODL!",
            "created_utc": 1635768000,
            "author": "satoshi_fan",
            "score": 420,
            "num_comments": 69,
            "permalink": "/r/Bitcoin/comments/q1abc/bought_my_first_whole_bitcoin_today/",
            "is_self": True,
        },
        {
            "id": "hx9",
            "subreddit": "ethereum",
            "body": "Gas fees are finally low enough to use Ethereum again, great news.",
            "created_utc": "1635771600",
            "author": "vitalik_fan",
            "score": 12,
            "link_id": "t3_q2def",
            "parent_id": "t3_q2def",
        },
        {
            "id": "hy0",
            "subreddit": "ethereum",
            "body": "[deleted]",
            "created_utc": 1635771700,
            "author": "[deleted]",
            "link_id": "t3_q2def",
        },
    ]
    payload = "".join(json.dumps(t) + "\n" for t in things).encode()
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(payload))
    return path


def test_reddit_zst_dump_stores_submissions_and_comments_and_skips_deleted(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = write_reddit_dump(tmp_path / "RC_2021-11.zst")
    summary = run(sqlite_store, ArchiveSpec(path=path, format="reddit"))

    assert (summary.rows_read, summary.stored, summary.skipped, summary.warnings) == (3, 2, 1, 0)
    post = sqlite_store.documents.get(
        document_id(
            url="https://www.reddit.com/r/Bitcoin/comments/q1abc/bought_my_first_whole_bitcoin_today/"
        )
    )
    comment = sqlite_store.documents.get(
        document_id(url="https://www.reddit.com/comments/q2def/_/hx9")
    )
    assert post is not None and comment is not None
    assert post.family == SourceFamily.REDDIT
    assert post.source == "reddit:Bitcoin" and comment.source == "reddit:ethereum"
    assert post.published_at == datetime(2021, 11, 1, 12, 0, tzinfo=UTC)
    assert post.ingested_at == post.published_at
    assert post.text == "Took me four years of DCA & patience. HODL!"
    assert post.metadata["score"] == 420 and post.metadata["num_comments"] == 69
    assert post.metadata["backfill"] is True
    assert comment.metadata["is_comment"] is True and comment.assets == ("ETH",)


# --- bad rows ----------------------------------------------------------------------------


def test_bad_rows_become_warnings_with_row_numbers_and_the_rest_is_stored(
    sqlite_store: Store, tmp_path: Path
) -> None:
    good = news_rows(3)
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps(good[0])
        + "\n"
        + '{"title": "Broken row", "published_at": "2022-03-01T10:00:00Z"\n'  # row 2: bad JSON
        + json.dumps({"title": "", "text": "  ", "published_at": "2022-03-01"})  # row 3
        + "\n\n"  # a blank line is not a row
        + json.dumps({"title": "Ether dips", "text": "ETH fell.", "published_at": "last tue"})
        + "\n"  # row 4: bad date
        + json.dumps({"title": "Far future", "published_at": "2999-01-01T00:00:00Z"})
        + "\n"  # row 5: a date in the future is not an archive's time
        + "[1, 2, 3]\n"  # row 6: not an object
        + json.dumps(good[1])
        + "\n"
        + json.dumps(good[2]),  # no newline at the end of the file
        encoding="utf-8",
    )
    summary = run(sqlite_store, ArchiveSpec(path=path, format="news-jsonl", source="mixed"))

    assert (summary.rows_read, summary.stored, summary.warnings) == (8, 3, 5)
    reasons = {w.detail.split(":")[0]: w.reason for w in sqlite_store.sources.warnings("mixed")}
    assert reasons == {
        "mixed.jsonl row 2": "bad-json",
        "mixed.jsonl row 3": "missing-text",
        "mixed.jsonl row 4": "bad-date",
        "mixed.jsonl row 5": "bad-date",
        "mixed.jsonl row 6": "bad-json",
    }


def test_wrong_date_format_is_refused_before_anything_is_written(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", news_rows(10))
    spec = ArchiveSpec(path=path, format="news-jsonl", date_format="%d-%m-%Y %H:%M")
    with pytest.raises(ArchiveError, match="none of the first 10 rows has a date that parses"):
        run(sqlite_store, spec)
    assert sqlite_store.documents.count() == 0
    assert sqlite_store.sources.state(spec.state_name).cursor == {}


def test_csv_file_given_as_jsonl_is_refused_before_anything_is_written(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text("title,date\n" + "".join(f"Bitcoin {i},2022-01-0{i}\n" for i in range(1, 6)))
    with pytest.raises(
        ArchiveError, match=r"none of the first 6 rows could be read \(e.g. bad-json"
    ):
        run(sqlite_store, ArchiveSpec(path=path, format="news-jsonl"))
    assert sqlite_store.documents.count() == 0 and sqlite_store.sources.warnings() == []


def test_dates_in_epoch_iso_and_rfc2822_forms_parse_to_utc() -> None:
    expected = datetime(2021, 11, 1, 12, 0, tzinfo=UTC)
    assert parse_date(1635768000) == expected
    assert parse_date("1635768000000") == expected  # milliseconds
    assert parse_date("2021-11-01T13:00:00+01:00") == expected
    assert parse_date("2021-11-01 12:00:00") == expected  # naive: UTC
    assert parse_date("Mon, 01 Nov 2021 12:00:00 GMT") == expected
    with pytest.raises(ValueError, match="unrecognised date"):
        parse_date("yesterday")


def test_literal_escapes_from_scraped_archives_become_characters() -> None:
    assert unescape_literals("a\\xa0b") == "a b"
    assert unescape_literals("\\x9cquoted\\x9d \\x93 dash") == "“quoted” – dash"
    assert unescape_literals("NFT\\u200b.NYC") == "NFT\u200b.NYC"
    assert unescape_literals("line\\r\\nnext") == "line next"
    assert unescape_literals("C:\\path stays") == "C:\\path stays"


# --- resume and idempotency --------------------------------------------------------------


def test_rerun_of_a_completed_file_does_nothing_and_restart_stores_nothing_twice(
    store: Store, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", news_rows(12))
    spec = ArchiveSpec(path=path, format="news-jsonl", batch_size=5)
    first = run(store, spec)
    again = run(store, spec)
    restarted = run(store, ArchiveSpec(path=path, format="news-jsonl", batch_size=5, restart=True))

    assert (first.stored, first.batches, first.complete) == (12, 3, True)
    assert (again.rows_read, again.stored, again.complete) == (0, 0, True)
    assert (restarted.rows_read, restarted.stored, restarted.duplicates) == (12, 0, 12)
    assert store.documents.count() == 12


def test_stopped_import_resumes_at_the_first_uncommitted_row_without_gaps(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", news_rows(23))
    partial = run(
        sqlite_store, ArchiveSpec(path=path, format="news-jsonl", batch_size=5, max_batches=2)
    )
    assert (partial.rows_read, partial.stored, partial.complete) == (10, 10, False)
    cursor = sqlite_store.sources.state("backfill:archive:news").cursor
    (entry,) = cursor["files"].values()
    assert entry["row"] == 10 and not entry["done"]
    assert entry["offset"] == len(b"".join(path.read_bytes().splitlines(keepends=True)[:10]))

    rest = run(sqlite_store, ArchiveSpec(path=path, format="news-jsonl", batch_size=5))
    assert (rest.resumed_at_row, rest.rows_read, rest.stored, rest.duplicates) == (10, 13, 13, 0)
    rows = stored_rows(sqlite_store)
    assert sorted(r.meta["row"] for r in rows) == list(range(1, 24))


def test_zst_import_resumes_inside_the_compressed_stream(
    sqlite_store: Store, tmp_path: Path
) -> None:
    payload = "".join(json.dumps(r) + "\n" for r in news_rows(9)).encode()
    path = tmp_path / "news.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(payload))
    spec = ArchiveSpec(path=path, format="news-jsonl", batch_size=4, max_batches=1)
    assert run(sqlite_store, spec).stored == 4
    rest = run(sqlite_store, ArchiveSpec(path=path, format="news-jsonl", batch_size=4))
    assert (rest.resumed_at_row, rest.stored, rest.duplicates, rest.complete) == (4, 5, 0, True)
    assert sqlite_store.documents.count() == 9


def test_killed_backfill_process_resumes_with_no_duplicates_and_no_gaps(tmp_path: Path) -> None:
    n = 3000
    path = write_jsonl(tmp_path / "big.jsonl", short_rows(n))
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOSENSE_")} | {
        "CRYPTOSENSE_DATA_DIR": str(data_dir),
        "CRYPTOSENSE_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "cryptosense", "backfill", str(path), "--format", "news-jsonl"]
    proc = subprocess.Popen(
        [*cmd, "--batch-size", "20", "--no-progress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = Store.open(f"sqlite:///{data_dir / 'cryptosense.db'}")
    try:
        deadline = time.monotonic() + 60
        committed = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                files = store.sources.state("backfill:archive:big").cursor.get("files", {})
            except Exception:  # the tables may not exist yet
                files = {}
            committed = next(iter(files.values()), {}).get("row", 0)
            if committed:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
        assert 0 < committed < n
        assert store.documents.count() >= committed

        resumed = subprocess.run(
            [*cmd, "--batch-size", "500", "--no-progress"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        summary = json.loads(resumed.stdout.strip().splitlines()[-1])
        assert summary["complete"] is True
        assert summary["resumed_at_row"] >= committed
        assert summary["resumed_at_row"] + summary["rows_read"] == n
        assert store.documents.count() == n
        assert sorted(r.meta["row"] for r in stored_rows(store)) == list(range(1, n + 1))
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()


# --- command line ------------------------------------------------------------------------


def test_cli_prints_a_summary_and_refuses_a_missing_file_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in list(os.environ):
        if key.startswith("CRYPTOSENSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(tmp_path / "var"))
    path = write_jsonl(tmp_path / "news.jsonl", news_rows(3))

    assert main(["backfill", str(path), "--format", "news-jsonl", "--source", "cli"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["source"] == "cli"
    assert (summary["rows_read"], summary["stored"], summary["duplicates"]) == (3, 3, 0)

    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SystemExit) as exit_info:  # refused by the argument type, one line
        main(["backfill", str(missing), "--format", "news-jsonl"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "nope.jsonl does not exist" in err and "Traceback" not in err
