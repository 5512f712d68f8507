"""`cryptosense nlp bench`: which texts it scores, its argument errors, and (slow tier) one
real run of both paths printing one JSON object, plus the per-lever timings."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest

from core.records import normalise_text
from core.settings import Settings
from cryptosense.cli import main
from nlp.sentiment.bench import default_bench_texts, load_bench_texts, measure_levers, read_texts
from nlp.sentiment.data import CRYPTO_CHECK, SEED_DATA, DataError, load_labelled
from nlp.sentiment.train import TrainResult


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main() reads its settings from the environment: point it at the test's data dir."""
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CRYPTOSENSE_SENTIMENT__THREADS", "1")
    monkeypatch.setenv("CRYPTOSENSE_SENTIMENT__MAX_LENGTH", "32")
    monkeypatch.delenv("CRYPTOSENSE_REAL_DATA", raising=False)
    return settings.data_dir


def _project_texts() -> list[str]:
    return [*load_labelled(SEED_DATA).texts, *load_labelled(CRYPTO_CHECK).texts]


def test_without_data_the_project_sets_are_repeated_to_n_and_distinct_texts_counted() -> None:
    own = _project_texts()
    texts = load_bench_texts(600)
    assert len(texts.texts) == 600 and texts.labels is not None and len(texts.labels) == 600
    assert texts.texts[: len(own)] == own and texts.texts[len(own)] == own[0]
    assert texts.distinct == len({normalise_text(t) for t in own}) == 519
    assert "seed_sentiment.csv" in texts.source and "repeated" in texts.source


def test_default_texts_fall_back_to_the_project_sets_when_the_real_data_lacks_tfns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="nlp.sentiment.bench"):
        texts = default_bench_texts(tmp_path, 10)
    assert texts.texts == _project_texts()[:10]
    assert "tfns_train.csv not found" in caplog.text


def test_default_texts_are_the_first_tfns_tweets_with_their_labels(real_data: Path) -> None:
    texts = default_bench_texts(real_data, 50)
    assert texts.source == "tfns_train.csv" and len(texts.texts) == 50
    with (real_data / "sentiment" / "tfns_train.csv").open(encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    assert texts.texts[0] == first["text"].strip()
    label = {"0": 0, "1": 2, "2": 1}[first["label"]]  # TFNS: 0 bearish, 1 bullish, 2 neutral
    assert texts.labels is not None and int(texts.labels[0]) == label


def test_unlabelled_semicolon_file_gives_its_first_non_empty_texts(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(
        "title;source\nBTC up 5%;a\n;b\nETH unlocks delayed;c\nSOL outage;d\n", encoding="utf-8"
    )
    assert read_texts(path, "title", 2) == ["BTC up 5%", "ETH unlocks delayed"]
    texts = load_bench_texts(10, path, text_col="title")
    assert texts.texts == ["BTC up 5%", "ETH unlocks delayed", "SOL outage"]
    assert texts.labels is None and texts.source == "news.csv"
    with pytest.raises(DataError, match=r"no text column 'text'; its columns are: title, source"):
        read_texts(path, "text", 2)


def test_bench_argument_mistakes_are_messages_not_tracebacks(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nlp", "bench", "--label-col", "label"]) == 2
    assert "--label-col and --label-map need --data" in capsys.readouterr().err
    assert main(["nlp", "bench", "--model", str(tmp_path / "nowhere")]) == 2
    assert "not a model directory" in capsys.readouterr().err
    assert main(["nlp", "bench"]) == 2  # fresh data dir, hub model id: nothing local
    err = capsys.readouterr().err
    assert "no local sentiment model to benchmark" in err and "Traceback" not in err


@pytest.mark.slow
def test_nlp_bench_prints_one_json_object_with_speed_agreement_and_f1(
    data_dir: Path, trained_sentiment: TrainResult, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = load_labelled(SEED_DATA)
    names = ("negative", "neutral", "positive")
    rows = [(seed.texts[i], names[int(seed.labels[i])]) for i in range(48)]
    rows += [(f"  {text.upper()} ", label) for text, label in rows[:16]]  # same text, recased
    data = data_dir.parent / "bench.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *rows])

    model = str(trained_sentiment.path)
    args = ["--model", model, "--data", str(data), "--label-col", "label", "--n", "64"]
    code = main(["nlp", "bench", *args, "--rounds", "2"])

    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 1
    result = json.loads(out[0])
    assert result["n"] == 64 and result["unique_texts"] == 48
    assert result["model_passes"] == 48, "a recased duplicate must not be scored twice"
    assert result["naive_texts_per_s"] > 0 and result["project_texts_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["project_texts_per_s"] / result["naive_texts_per_s"], rel=0.02
    )
    assert result["fp32_version"] == trained_sentiment.version
    assert result["int8_version"] == trained_sentiment.version + "+int8r3"
    assert result["threads"] == 1 and result["max_length"] == 32
    assert 0.9 <= result["int8_fp32_label_agreement"] <= 1.0
    for key in ("fp32_weighted_f1", "int8_weighted_f1", "weighted_f1_difference_points"):
        assert isinstance(result[key], float)
    assert set(result["meets_target"]) == {"ratio_8x", "agreement_99", "f1_within_1_point"}
    assert result["export"]["reused"] is False
    assert (data_dir / "models" / "sentiment-onnx").is_dir()


@pytest.mark.slow
def test_levers_time_every_step_from_torch_to_int8_once(trained_sentiment: TrainResult) -> None:
    texts = list(load_labelled(SEED_DATA).texts[:24])
    levers = measure_levers(
        trained_sentiment.path, texts, threads=1, max_length=32, batch_size=8, torch_batch_size=8
    )
    steps = {s["step"]: s for s in levers["steps"]}
    assert levers["n"] == 24 and len(steps) == len(levers["steps"]) == 16
    assert all(s["texts_per_s"] > 0 for s in steps.values())
    assert steps["torch fp32, one text per call (no pipeline)"]["agreement_with_fp32"] == 1.0
    assert steps["onnx fp32 as exported, batches of 8"]["agreement_with_fp32"] == 1.0
    project = steps["onnx int8, MatMul only (the project's model), batches of 8"]
    assert project["agreement_with_fp32"] >= 0.8
