"""Labelled data, label mapping and metrics: fast tests, no model involved."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.records import normalise_text
from nlp.sentiment.base import LabelMappingError, column_order, to_scores
from nlp.sentiment.data import (
    CRYPTO_CHECK,
    SEED_DATA,
    TFNS_LABEL_MAP,
    DataError,
    load_labelled,
    parse_label_map,
    stratified_split,
)
from nlp.sentiment.evaluate import classification_metrics

REAL_DATA = (
    Path(os.environ["CRYPTOSENSE_REAL_DATA"]) if os.environ.get("CRYPTOSENSE_REAL_DATA") else None
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_tfns_label_codes_become_project_labels_through_the_label_map(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "tfns.csv",
        "text,label\n$AAPL cut to Sell,0\n$NVDA beats,1\nFed minutes at 2pm,2\n",
    )
    data = load_labelled(f, label_map=json.dumps(TFNS_LABEL_MAP))
    assert data.labels.tolist() == [0, 2, 1]  # negative, positive, neutral in project order
    assert data.label_map == {"0": "negative", "1": "positive", "2": "neutral"}
    assert data.counts() == {"negative": 1, "neutral": 1, "positive": 1}
    assert len(data.sha256) == 64 and data.source == "tfns.csv"


def test_named_labels_need_no_map_and_bullish_bearish_are_understood(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "named.csv",
        "headline;sentiment\nBTC rips;Bullish\nETH dumps;BEARISH\nSOL flat;neutral\n",
    )
    data = load_labelled(f, text_col="headline", label_col="sentiment")
    assert data.labels.tolist() == [2, 0, 1]


def test_rfc4180_csv_with_crlf_quoted_commas_and_apostrophes_is_read_as_written(
    tmp_path: Path,
) -> None:
    """The shape of the Twitter Financial News validation file: `text,label`, CRLF line ends,
    quoted fields holding commas and doubled quotes, and enough `'word',` in the text that
    csv.Sniffer takes `'` for the quote character (it did, and every row broke)."""
    rows = [
        ("HPE targets trimmed at Jefferies, 'sell' call stays, 'underweight' too", "0"),
        ("Nvidia beats, 'stellar' quarter, 'buy' reiterated", "1"),
        ("Fed's Powell says \"patience\" on rates, 'wait and see', markets flat", "2"),
        ("Analysts' view: 'risk-off', 'sell everything' week", "0"),
        ("Apple's results, 'in line', 'hold'", "2"),
    ]
    body = "".join('"' + text.replace('"', '""') + f'",{label}\r\n' for text, label in rows)
    f = tmp_path / "valid.csv"
    f.write_bytes(("text,label\r\n" + body).encode("utf-8"))
    data = load_labelled(f, label_map=TFNS_LABEL_MAP)
    assert data.texts == tuple(text for text, _ in rows)
    assert data.labels.tolist() == [0, 2, 1, 0, 1]


def test_csv_delimiter_comes_from_the_header_line_only(tmp_path: Path) -> None:
    semicolons = _write(
        tmp_path / "semi.csv",
        'date;text;label\n1-7-2022;"BTC up, ETH up; alts flat";positive\n'
        "2-7-2022;{'class': 'neutral', 'x': 1}, sideways;neutral\n",
    )
    data = load_labelled(semicolons)
    assert data.texts == ("BTC up, ETH up; alts flat", "{'class': 'neutral', 'x': 1}, sideways")
    tabs = _write(tmp_path / "tabs.tsv", "text\tlabel\nETH, SOL and 'DOGE' rally\tpositive\n")
    assert load_labelled(tabs).texts == ("ETH, SOL and 'DOGE' rally",)
    quoted_header = _write(tmp_path / "q.csv", '"text";"label"\r\n"ok, fine";neutral\r\n')
    assert load_labelled(quoted_header).texts == ("ok, fine",)


@pytest.mark.skipif(not REAL_DATA, reason="CRYPTOSENSE_REAL_DATA is not set")
@pytest.mark.parametrize(
    ("name", "columns", "text_col", "rows"),
    [
        ("tfns_train.csv", ["text", "label"], "text", 9543),
        ("cryptolin_2018_2021h1.csv", ["date", "text", "label"], "text", 1118),
        (
            "cryptonews_2021_2022.csv",
            ["date", "sentiment", "source", "subject", "text", "title", "url"],
            "text",
            7524,
        ),
        (
            "stocktwits_eth_2022.csv",
            ["num", "message_id", "created_at", "tag", "username", "user_id", "likes",
             "platform", "body"],
            "body",
            15000,
        ),
    ],
)  # fmt: skip
def test_real_labelled_files_read_with_their_own_delimiter_and_every_row_whole(
    name: str, columns: list[str], text_col: str, rows: int
) -> None:
    from nlp.sentiment.data import read_rows

    path = REAL_DATA / "sentiment" / name
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    found, records = read_rows(path)
    assert found == columns
    assert len(records) == rows
    assert all(None not in r and all(v is not None for v in r.values()) for r in records)
    assert all(str(r[text_col]).strip() for r in records)


def test_jsonl_file_loads_like_csv_and_spreadsheet_floats_match_integer_codes(
    tmp_path: Path,
) -> None:
    lines = [
        {"body": "Exchange hacked", "y": 0.0},
        {"body": "Token listed on Coinbase", "y": "1"},
        {"body": "Maintenance window tonight", "y": 2},
    ]
    f = _write(tmp_path / "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    data = load_labelled(f, text_col="body", label_col="y", label_map=TFNS_LABEL_MAP)
    assert data.texts[1] == "Token listed on Coinbase"
    assert data.labels.tolist() == [0, 2, 1]


def test_missing_text_column_error_names_the_column_and_lists_the_file_columns(
    tmp_path: Path,
) -> None:
    f = _write(tmp_path / "d.csv", "tweet,label\nhello,positive\n")
    with pytest.raises(DataError, match=r"no text column 'text'.*columns are: tweet, label"):
        load_labelled(f)


def test_unknown_label_error_names_the_label_column_and_row(tmp_path: Path) -> None:
    f = _write(tmp_path / "d.csv", "text,label\nok,positive\nfine,neutral\nhmm,very good\n")
    with pytest.raises(DataError, match=r"unknown label 'very good' in column 'label' at row 3"):
        load_labelled(f)


def test_numeric_labels_without_a_map_suggest_passing_one(tmp_path: Path) -> None:
    f = _write(tmp_path / "d.csv", "text,label\nok,1\n")
    with pytest.raises(DataError, match=r"unknown label '1'.*--label-map"):
        load_labelled(f)


def test_empty_text_error_names_the_row(tmp_path: Path) -> None:
    f = _write(tmp_path / "d.csv", 'text,label\nok,positive\n"   ",neutral\n')
    with pytest.raises(DataError, match=r"empty text in column 'text' at row 2"):
        load_labelled(f)


def test_label_map_with_an_unknown_target_or_bad_json_is_rejected() -> None:
    with pytest.raises(DataError, match=r"label map entry '0'.*must be negative, neutral"):
        parse_label_map('{"0": "terrible"}')
    with pytest.raises(DataError, match="not valid JSON"):
        parse_label_map("{0: negative}")
    with pytest.raises(DataError, match="JSON object"):
        parse_label_map('["negative"]')


def test_label_map_can_come_from_a_json_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "map.json", json.dumps(TFNS_LABEL_MAP))
    assert parse_label_map(str(f)) == dict(TFNS_LABEL_MAP)


def test_missing_or_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_labelled(tmp_path / "nope.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("text,label\ncaf\xe9 \xe0 la bourse,neutral\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_labelled(bad)


def test_stratified_split_keeps_each_label_in_both_parts() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    train, val = stratified_split(labels, 0.1, seed=13)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)
    assert np.bincount(labels[val]).tolist() == [5, 3, 2]
    again, _ = stratified_split(labels, 0.1, seed=13)
    assert np.array_equal(train, again)


def test_seed_and_check_sets_are_balanced_disjoint_and_cover_crypto_slang() -> None:
    seed = load_labelled(SEED_DATA)
    check = load_labelled(CRYPTO_CHECK)
    assert 380 <= len(seed) <= 420 and 100 <= len(check) <= 140
    for data in (seed, check):
        counts = data.counts()
        assert min(counts.values()) >= 0.3 * len(data) - 5, counts
    assert not {normalise_text(t) for t in seed.texts} & {normalise_text(t) for t in check.texts}
    corpus = " ".join(check.texts).lower()
    for term in (
        "rekt", "hodl", "rug pull", "ath", "fud", "exploit", "depeg", "halving",
        "airdrop", "listing", "delisting", "liquidations", "short squeeze",
    ):  # fmt: skip
        assert term in corpus, term


def test_model_outputs_map_to_project_columns_by_name_or_by_label_map() -> None:
    assert column_order({0: "positive", 1: "negative", 2: "neutral"}, None) == [1, 2, 0]
    assert column_order({0: "Bearish", 1: "Bullish", 2: "Neutral"}, None) == [0, 2, 1]
    lmap = {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    assert column_order({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, lmap) == [0, 1, 2]
    with pytest.raises(LabelMappingError, match="LABEL_0"):
        column_order({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, None)
    with pytest.raises(LabelMappingError, match="both map to positive"):
        column_order({0: "positive", 1: "bullish", 2: "negative"}, None)
    with pytest.raises(LabelMappingError, match="no output for neutral"):
        column_order({0: "negative", 1: "positive"}, None)


def test_probability_rows_become_scores_with_argmax_label_and_signed_score() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    scores = to_scores(["a", "b"], probs, "m@1")
    assert [s.label.value for s in scores] == ["negative", "positive"]
    assert scores[0].score == pytest.approx(-0.6) and scores[1].score == pytest.approx(0.5)
    with pytest.raises(ValueError, match="expected 3 x 3"):
        to_scores(["a", "b", "c"], probs, "m@1")


def test_metrics_on_a_known_prediction_set_match_hand_counts_and_sklearn() -> None:
    from sklearn.metrics import f1_score

    y_true = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 1, 2, 2, 0])
    m = classification_metrics(y_true, y_pred)
    assert m["n"] == 10 and m["labels"] == ["negative", "neutral", "positive"]
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 3, 1], [1, 0, 2]]
    # per class F1: negative 2/3, neutral 3/4, positive 2/3
    assert m["macro_f1"] == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 2 / 3 + 4 * 3 / 4 + 3 * 2 / 3) / 10)
    assert m["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_train_command_with_a_missing_label_column_exits_2_naming_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    from cryptosense.cli import main

    f = _write(tmp_path / "d.csv", "text,sentiment\nok,positive\n")
    code = main(["nlp", "train", "--data", str(f), "--label-col", "label"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no label column 'label'" in err and "text, sentiment" in err
    assert "Traceback" not in err


def test_eval_command_with_an_unknown_label_exits_2_naming_label_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    from cryptosense.cli import main

    f = _write(tmp_path / "d.csv", "text,label\nok,0\nbad,7\n")
    code = main(["nlp", "eval", "--data", str(f), "--label-map", json.dumps(TFNS_LABEL_MAP)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown label '7' in column 'label' at row 2" in err


def test_length_grouped_batches_cover_every_row_once_with_little_padding() -> None:
    from nlp.sentiment.loop import length_grouped_batches

    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 64, size=1000)
    batches = length_grouped_batches(lengths, 32, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    naive = sum(len(b) * lengths[b].max() for b in np.array_split(rng.permutation(1000), 32))
    assert padded < 0.7 * naive
    again = length_grouped_batches(lengths, 32, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
