"""``cryptosense fusion ...`` on a constructed store: the backtest reproduces its card to the
byte, bad input is one line and exit code 2, the look-ahead guard catches the planted leak,
train registers what the gate decides and signal stores what it shows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.store import Store
from cryptosense.cli import main
from tests.fusion import store_data, synthetic

DAYS = 80
FAST = {
    "HORIZON": "1h",
    "TRAIN_DAYS": "30",
    "TEST_DAYS": "10",
    "EMBARGO_DAYS": "0",
    "MIN_TRAIN_ROWS": "100",
    "BOOTSTRAP_REPS": "200",
    "LOOKAHEAD_CUTS": "4",
    "MODEL__N_ESTIMATORS": "40",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 80 days of hourly BTC (on-chain and sentiment from day 10) and 240 daily
    bars, built once; each test works on a copy."""
    path = tmp_path_factory.mktemp("fusion-cli") / "cryptosense.db"
    store = Store.open(f"sqlite:///{path}")
    start = synthetic.START
    n = 24 * DAYS
    store_data.fill(
        store,
        {
            ("BTC", "1h"): synthetic.candles(n, "1h", seed=11),
            ("BTC", "1d"): synthetic.candles(240, "1d"),
        },
        {"BTC": synthetic.onchain(DAYS, seed=12)},
        {"BTC": synthetic.sentiment(start + pd.Timedelta(days=10), start + pd.Timedelta(hours=n))},
    )
    store.close()
    return path


@pytest.fixture
def data_dir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "var"
    root.mkdir()
    shutil.copyfile(template, root / "cryptosense.db")
    for key in [k for k in os.environ if k.startswith("CRYPTOSENSE_")]:
        if key not in ("CRYPTOSENSE_REAL_DATA", "CRYPTOSENSE_TEST_PG"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(root))
    for key, value in FAST.items():
        monkeypatch.setenv(f"CRYPTOSENSE_FUSION__{key}", value)
    return root


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


def test_backtest_twice_on_the_same_store_gives_a_byte_identical_card(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["fusion", "backtest", "--asset", "BTC", "--timeframe", "1h"]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert "[1/3] walk-forward price h=1h done" in first.err
    assert "run 1: BTC 1h: 1,920 candles" in first.out
    [json_path] = (data_dir / "fusion" / "reports").glob("BTC-1h-*.json")
    card_bytes = json_path.read_bytes()

    assert main(argv) == 0
    second = capsys.readouterr().out
    assert "run 2:" in second and "card identical to run 1" in second
    assert json_path.read_bytes() == card_bytes
    assert len(list(json_path.parent.glob("BTC-1h-*"))) == 2  # the JSON and the HTML

    assert main(["fusion", "report", "--run", "1", "--json"]) == 0
    assert capsys.readouterr().out.encode() == card_bytes
    card = json.loads(card_bytes)
    assert card["manifest"]["data"]["source"] == {
        "provider": "store",
        "exchange": "bitstamp",
        "pair": "BTC/USD",
        "onchain_source": store_data.ONCHAIN_SOURCE,
        "sentiment_model_version": store_data.SENTIMENT_VERSION,
    }
    assert card["arms"]["price_onchain_sentiment"]["status"] == "ok"
    store = Store.open(f"sqlite:///{data_dir / 'cryptosense.db'}")
    try:
        runs = store.studies.runs("BTC", "1h")
        assert [r.card_json.encode() for r in runs] == [card_bytes, card_bytes]
        assert runs[0].content_sha256 == card["manifest"]["data"]["content_sha256"]
        assert runs[0].seed == 7 and runs[0].config["settings"]["horizon"] == "1h"
    finally:
        store.close()


def test_report_shows_the_html_page_and_writes_it_again_when_gone(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fusion", "backtest", "--asset", "BTC", "--timeframe", "1h", "--json"]) == 0
    capsys.readouterr()
    [html] = (data_dir / "fusion" / "reports").glob("BTC-1h-*.html")
    original = html.read_text()
    html.unlink()
    assert main(["fusion", "report", "--asset", "BTC"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run 1: BTC 1h, no model: ") and out[1] == str(html)
    assert html.read_text() == original
    assert main(["fusion", "report", "--table"]) == 0
    table = capsys.readouterr().out
    assert (
        table.startswith("| | BTC 1h |") and "| history of price + on-chain + sentiment |" in table
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["backtest", "--asset", "DOGE", "--timeframe", "1h"], "unknown asset 'DOGE'; known: BTC"),
        (
            ["backtest", "--asset", "BTC", "--timeframe", "1h", "--to", "2020-01-01"],
            "no data up to 2020-01-01T00:00:00Z: 1h candles for BTC close from",
        ),
        (
            ["backtest", "--asset", "BTC", "--timeframe", "1h", "--from", "2022-01-01"],
            "no data from 2022-01-01T00:00:00Z on",
        ),
        (
            [
                "backtest",
                "--asset",
                "BTC",
                "--timeframe",
                "1h",
                "--from",
                "2021-03-01",
                "--to",
                "2021-02-01",
            ],
            "--from 2021-03-01T00:00:00Z is not before --to",
        ),
        (
            ["backtest", "--asset", "BTC", "--timeframe", "1d"],
            "horizon 1h is not a whole number of 1d bars",
        ),
        (["backtest", "--asset", "BTC", "--timeframe", "4h"], "no 4h candles for BTC"),
        (["train", "--asset", "ETH", "--timeframe", "1h"], "no candles for ETH (bitstamp ETH/USD)"),
        (["signal", "--asset", "DOGE", "--timeframe", "1h"], "unknown asset 'DOGE'"),
        (["signal", "--timeframe", "4h"], "no asset has 4h candles in the store"),
        (["lookahead", "--asset", "DOGE", "--timeframe", "1h"], "unknown asset 'DOGE'"),
        (["report"], "no fusion runs recorded for any market"),
        (["report", "--run", "7"], "no fusion run 7"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_bad_input_is_one_line_and_exit_2(
    data_dir: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fusion", *argv]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("cryptosense: ") and message in line, line
    assert not (data_dir / "fusion" / "reports").exists()  # nothing half-written


@pytest.mark.parametrize("action", ["backtest", "train"])
def test_a_timeframe_with_too_few_bars_for_one_fold_is_one_line_and_exit_2(
    data_dir: Path, action: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "CRYPTOSENSE_FUSION__HORIZON", "1d"
    )  # 240 daily bars: 220 warm-up + 30 train + 1 + 1
    assert main(["fusion", action, "--asset", "BTC", "--timeframe", "1d"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("cryptosense: too few bars for one walk-forward fold: need at least")
    assert not (data_dir / "fusion" / "reports").exists()


def test_lookahead_passes_on_the_projects_features_and_names_the_planted_leak(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["-q", "fusion", "lookahead", "--asset", "BTC", "--timeframe", "1h"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "look-ahead check passed: 39 features at 4 cut points" in out
    assert "warm-up: every feature agrees after its declared warm-up" in out

    assert main([*argv, "--plant-leak"]) == 1
    out = capsys.readouterr().out
    assert "look-ahead: features read the future: leak_next_return" in out
    assert "  leak_next_return: truncated at " in out


def test_train_registers_what_the_gate_decides_and_signal_stores_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fusion", "train", "--asset", "BTC", "--timeframe", "1h"]) == 0
    out = capsys.readouterr().out
    assert "registered for BTC 1h" in out
    store = Store.open(f"sqlite:///{data_dir / 'cryptosense.db'}")
    try:
        entry = store.studies.current("BTC", "1h")
        assert entry is not None and entry.run_id == 1
        assert entry.groups == ("price", "onchain", "sentiment")
        assert entry.sentiment_version == store_data.SENTIMENT_VERSION
        # Random walks have no edge: the card fails the gate, so the signal is "no model".
        assert not entry.promoted and entry.reasons
        assert "not promoted: the signal is 'no model': " in out

        assert main(["fusion", "signal", "--timeframe", "1h", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["action"] == "no model" and shown["reasons"] == list(entry.reasons)
        assert shown["model_version"] == entry.version and shown["stored"] is True
        [stored] = store.signals.history("BTC", "1h")
        assert stored.reasons == entry.reasons and stored.prob_up is None

        assert main(["fusion", "signal", "--timeframe", "1h"]) == 0
        text = capsys.readouterr().out
        assert "BTC 1h at 2021-03-22T00:00:00+00:00: no model" in text
        assert "[this bar's signal was already stored; kept]" in text
        assert store.signals.count() == 1
    finally:
        store.close()
