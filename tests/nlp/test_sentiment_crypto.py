"""The crypto sources end to end through the command line: train on a folder of labelled
sources, read the per-source held-out figures back from the card, evaluate each source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryptosense.cli import main
from nlp.sentiment.card import HELD_OUT_PREFIX, read_card
from nlp.sentiment.sources import CRYPTOLIN_FILE, STOCKTWITS_FILE, TFNS_FILE
from tests.nlp.test_sentiment_sources import _cryptolin, _stocktwits, _tfns


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "sentiment"
    folder.mkdir()
    _tfns(folder / TFNS_FILE)
    _cryptolin(folder / CRYPTOLIN_FILE)
    _stocktwits(folder / STOCKTWITS_FILE)
    return folder


def test_weights_need_the_crypto_folder(
    tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _tfns(tmp_path / "t.csv")
    code = main(["nlp", "train", "--data", str(data), "--weight", f"{TFNS_FILE}=2"])
    assert code != 0
    assert "--weight applies to the sources of --crypto" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["stocktwits.csv", "x.csv=0", "x.csv=abc", "=1"])
def test_a_malformed_weight_is_refused_by_the_parser(
    bad: str, labelled_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["nlp", "train", "--crypto", str(labelled_folder), "--weight", bad])
    assert "FILE=WEIGHT" in capsys.readouterr().err


@pytest.mark.slow
def test_train_and_eval_on_the_crypto_folder_report_each_source(
    labelled_folder: Path, tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    quick = ["--epochs", "1", "--max-length", "32", "--batch-size", "16", "--threads", "1"]
    argv = ["nlp", "train", "--crypto", str(labelled_folder), "--out", str(out), *quick]
    assert main([*argv, "--weight", f"{STOCKTWITS_FILE}=0.25", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"  {STOCKTWITS_FILE}: weighted F1" in printed
    card = read_card(out)
    by_file = {s.file: s for s in card.sources}
    assert by_file[STOCKTWITS_FILE].classes == ("negative", "positive")
    assert by_file[STOCKTWITS_FILE].weight == 0.25
    assert by_file[CRYPTOLIN_FILE].validation_rows == 4  # the latest 20% of 20 headlines
    names = {n[len(HELD_OUT_PREFIX) :] for n in card.validation if n.startswith(HELD_OUT_PREFIX)}
    assert names == {TFNS_FILE, CRYPTOLIN_FILE, STOCKTWITS_FILE, "seed_sentiment.csv"}
    assert card.validation[HELD_OUT_PREFIX + STOCKTWITS_FILE].model_extra is not None

    assert main(["nlp", "eval", "--crypto", str(labelled_folder), "--model", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["per_source"]) == names
    held = card.validation[HELD_OUT_PREFIX + CRYPTOLIN_FILE]
    assert result["per_source"][CRYPTOLIN_FILE]["n"] == held.n
    assert result["per_source"][CRYPTOLIN_FILE]["weighted_f1"] == pytest.approx(
        held.weighted_f1, abs=1e-6
    )
