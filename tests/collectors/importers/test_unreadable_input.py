"""Files that used to end in a traceback or a silent misreading: a bare carriage return (CR)
in a CSV header, a field over the csv module's size limit, a line separator inside a field,
UTF-16 text, a damaged ``.zst`` stream. Each must give one clear line and exit code 2 on the
command line, or be read as the file means it; nothing half-written either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.importers.market_csv import MarketCsvError
from collectors.importers.onchain_csv import read_onchain_csv
from collectors.importers.prices_csv import read_price_csv
from cryptosense.cli import main

ROOT = Path(__file__).resolve().parents[3]
PRICE_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USD"
PRICE_ROWS = "".join(
    f"{1_640_995_200 + 86_400 * i},2022-01-{i + 1:02d},BTC/USD,100,110,90,105,2,210\n"
    for i in range(3)
)
BIG = 200_000  # over the csv module's field size limit (131072)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key in list(os.environ):
        if key.startswith("CRYPTOSENSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(tmp_path / "var"))
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CRYPTOSENSE_")},
        "CRYPTOSENSE_DATA_DIR": str(tmp_path / "var"),
    }


def one_line_refusal(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("cryptosense:")]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


# --- news archive (backfill --format news-csv) --------------------------------------------------


def test_backfill_of_csv_whose_header_holds_a_bare_cr_exits_2_with_one_line(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = tmp_path / "news.csv"
    path.write_bytes(
        b"title,text\rpublished_at,url\nBitcoin up,BTC rose,2022-01-01,https://e.com/a\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "cryptosense", "backfill", str(path), "--format", "news-csv"],
        capture_output=True,
        text=True,
        env=cli_env,
        cwd=ROOT,
        timeout=120,
    )

    assert proc.returncode == 2
    line = one_line_refusal(proc.stderr)
    assert "news.csv" in line and "bare carriage return (CR)" in line and "character 11" in line
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "content",
    [
        b"title,text,published_at,url\rBitcoin up,BTC rose,2022-01-01,https://e.com/a\r",
        b"title,text,published_at\r,url\nBitcoin up,BTC rose,2022-01-01,https://e.com/a\n",
    ],
    ids=["cr-line-ends", "cr-before-last-column"],
)
def test_backfill_header_split_by_cr_is_refused_and_nothing_is_stored(
    tmp_path: Path, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    del cli_env
    path = tmp_path / "news.csv"
    path.write_bytes(content)

    assert main(["backfill", str(path), "--format", "news-csv", "--no-progress"]) == 2

    err = capsys.readouterr().err
    assert "bare carriage return (CR)" in one_line_refusal(err)
    from core.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'var' / 'cryptosense.db'}")
    try:
        assert store.documents.count() == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("name", "fmt", "content", "expected"),
    [
        (
            "huge.csv",
            "news-csv",
            ('"' + "t" * BIG + '",published_at\nBitcoin,2022-01-01\n').encode(),
            "huge.csv: the header line is not readable CSV",
        ),
        (
            "export.csv",
            "news-csv",
            "title,published_at\nBitcoin up,2022-01-01\n".encode("utf-16"),
            "export.csv is UTF-16 or UTF-32 text; archives are read as UTF-8. Convert it",
        ),
        (
            "RC_2021-11.zst",
            "reddit",
            b"\x28\xb5\x2f\xfd" + b"not a zstd frame at all",
            "RC_2021-11.zst is not a readable zstd stream",
        ),
    ],
    ids=["header-field-over-csv-limit", "utf-16-text", "damaged-zst"],
)
def test_backfill_of_an_unreadable_file_is_refused_in_one_line(
    tmp_path: Path,
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    name: str,
    fmt: str,
    content: bytes,
    expected: str,
) -> None:
    del cli_env
    path = tmp_path / name
    path.write_bytes(content)

    assert main(["backfill", str(path), "--format", fmt, "--no-progress"]) == 2
    assert expected in one_line_refusal(capsys.readouterr().err)


# --- market data (import prices / import onchain) -----------------------------------------------


def test_import_prices_whose_header_holds_a_bare_cr_exits_2_with_one_line(
    tmp_path: Path, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    del cli_env
    path = tmp_path / "prices.csv"
    header = PRICE_HEADER.replace(",Volume BTC", "\rVolume BTC")  # volumes cut off the header
    path.write_text(f"{header}\n{PRICE_ROWS}", encoding="utf-8")

    assert main(["import", "prices", str(path), "--pair", "BTC/USD"]) == 2

    line = one_line_refusal(capsys.readouterr().err)
    assert "line 1 holds a bare carriage return (CR)" in line and "refused" in line


def test_onchain_header_split_by_a_bare_cr_is_refused_not_misread() -> None:
    # Before: the header became "time,AdrActCnt" and TxCnt was silently dropped.
    data = b"time,AdrActCnt\rTxCnt\n2020-01-01,1,2\n2020-01-02,3,4\n"
    with pytest.raises(MarketCsvError, match="line 1 holds a bare carriage return"):
        read_onchain_csv(data, asset="BTC")


def test_files_with_cr_only_line_ends_are_still_read() -> None:
    data = f"{PRICE_HEADER}\n{PRICE_ROWS}".replace("\n", "\r").encode()
    result = read_price_csv(data, exchange="bitstamp", pair="BTC/USD")
    assert result.report.rows_kept == 3
    assert result.report.format["line_endings"] == "CR"


def test_price_row_with_a_field_over_the_csv_size_limit_is_a_reported_row(
    tmp_path: Path,
) -> None:
    data = f'{PRICE_HEADER}\n{PRICE_ROWS}"{"x" * BIG}",1,2\n'.encode()
    result = read_price_csv(data, exchange="bitstamp", pair="BTC/USD", timeframe="1d")
    assert result.report.rows_kept == 3
    bad = result.report.defect("unparseable-row")
    assert bad is not None and bad.count == 1 and "not readable as CSV" in bad.examples[0]


def test_onchain_row_with_a_field_over_the_csv_size_limit_is_a_reported_row() -> None:
    data = f'time,AdrActCnt\n2020-01-01,5\n"{"x" * BIG}",1\n2020-01-02,6\n'.encode()
    result = read_onchain_csv(data, asset="BTC")
    assert [m.value for m in result.metrics] == [5.0, 6.0]
    assert result.report.defect("unparseable-row") is not None


def test_a_line_separator_inside_a_field_does_not_split_the_row() -> None:
    # str.splitlines() broke lines at U+2028, U+0085 and form feeds too; csv does not.
    rows = PRICE_ROWS.replace("BTC/USD,100", "BTC/USD\u2028,100", 1)
    data = f"{PRICE_HEADER}\n{rows}".encode()
    result = read_price_csv(data, exchange="bitstamp", pair="BTC/USD", timeframe="1d")
    assert result.report.rows_read == 3
    assert result.report.defect("unparseable-row") is None
