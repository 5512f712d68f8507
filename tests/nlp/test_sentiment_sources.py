"""Several labelled sources at once: presets, held-out rules, label sets without neutral, the
masked objective, polarity metrics and the crypto tier. Fast: no model is trained here."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from core.settings import SentimentSettings
from nlp.sentiment.config import TrainConfig
from nlp.sentiment.data import DataError, combine_sources, load_labelled
from nlp.sentiment.evaluate import (
    classification_metrics,
    per_source_metrics,
    polarity_metrics,
    selection_score,
)
from nlp.sentiment.loop import split_data
from nlp.sentiment.objective import masked_cross_entropy
from nlp.sentiment.plans import default_recipes, target_plan
from nlp.sentiment.sources import (
    CRYPTOLIN_FILE,
    STOCKTWITS_FILE,
    TFNS_FILE,
    HeldOut,
    LabelledSource,
    crypto_sources,
    cryptolin_source,
    stocktwits_source,
    tfns_source,
)


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _stocktwits(path: Path) -> Path:
    """The StockTwits layout: untagged NULL rows, a repeated body, times out of order."""
    header = ["num", "message_id", "created_at", "tag", "username", "body"]
    rows = [
        ["0", "1", "2022-07-18T00:28:39Z", "NULL", "a", "$ETH.X flag about to snap"],
        ["1", "2", "2022-07-01T10:00:00Z", "Bullish", "b", "$ETH.X to the moon"],
        ["2", "3", "2022-07-20T10:00:00Z", "Bearish", "c", "$ETH.X rekt again"],
        ["3", "4", "2022-06-26T10:00:00Z", "Bullish", "d", "$ETH.X to the moon"],
        ["4", "5", "2022-07-05T10:00:00Z", "Bearish", "e", "$ETH.X dumping"],
        ["5", "6", "2022-07-10T10:00:00Z", "Bullish", "f", "$ETH.X HODL"],
        ["6", "7", "2022-07-22T10:00:00Z", "Bullish", "g", "$ETH.X new high soon"],
    ]
    return _csv(path, header, rows)


def _cryptolin(path: Path, n: int = 20) -> Path:
    labels = ["positive", "neutral", "negative", "positive"]
    rows = [[f"2020-01-{i + 1:02d}", f"headline {i}", labels[i % 4]] for i in range(n)]
    return _csv(path, ["date", "text", "label"], rows)


def _tfns(path: Path, n: int = 30) -> Path:
    return _csv(path, ["text", "label"], [[f"tweet {i}", str(i % 3)] for i in range(n)])


def test_stocktwits_preset_skips_untagged_and_repeated_posts_and_holds_out_the_latest(
    tmp_path: Path,
) -> None:
    data = stocktwits_source(_stocktwits(tmp_path / STOCKTWITS_FILE)).load()
    assert data.texts == (
        "$ETH.X to the moon",
        "$ETH.X rekt again",
        "$ETH.X dumping",
        "$ETH.X HODL",
        "$ETH.X new high soon",
    )
    assert data.counts() == {"negative": 2, "neutral": 0, "positive": 3}
    assert data.held_out is not None
    # 20% of 5 rows is one: the latest post (07-22), whatever its place in the file.
    assert [t for t, h in zip(data.texts, data.held_out, strict=True) if h] == [
        "$ETH.X new high soon"
    ]
    assert data.sources[0].classes == ("negative", "positive")
    assert data.sources[0].family == "social"
    assert data.class_masks().tolist()[0] == [True, False, True]


def test_a_neutral_label_in_a_source_without_neutral_is_refused_with_its_row(
    tmp_path: Path,
) -> None:
    f = _csv(tmp_path / "polar.csv", ["text", "label"], [["up", "positive"], ["meh", "neutral"]])
    source = LabelledSource(f, classes=("negative", "positive"))
    with pytest.raises(DataError, match=r"'neutral' at row 2 is not one of"):
        source.load()


def test_latest_by_date_and_stratified_held_out_rules(tmp_path: Path) -> None:
    data = cryptolin_source(_cryptolin(tmp_path / CRYPTOLIN_FILE)).load()
    assert data.held_out is not None
    held = [t for t, h in zip(data.texts, data.held_out, strict=True) if h]
    assert held == [f"headline {i}" for i in range(16, 20)]  # the latest 20% by date
    strat = tfns_source(_tfns(tmp_path / "t.csv")).load()
    assert strat.held_out is not None
    assert strat.held_out.sum() == 3  # 10%, one of each label
    assert sorted(strat.labels[strat.held_out].tolist()) == [0, 1, 2]


def test_a_missing_date_column_names_the_columns(tmp_path: Path) -> None:
    f = _csv(tmp_path / "x.csv", ["text", "label"], [["a", "positive"]])
    with pytest.raises(DataError, match=r"no column 'date'; its columns are: text, label"):
        LabelledSource(f, held_out=HeldOut(0.2, by="date")).load()


def test_combined_sources_keep_their_held_out_rows_class_sets_and_weights(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "sentiment"
    folder.mkdir()
    _tfns(folder / TFNS_FILE)
    _cryptolin(folder / CRYPTOLIN_FILE)
    _stocktwits(folder / STOCKTWITS_FILE)
    sources = crypto_sources(folder, {STOCKTWITS_FILE: 0.25})
    assert [s.name for s in sources] == [
        TFNS_FILE,
        CRYPTOLIN_FILE,
        STOCKTWITS_FILE,
        "seed_sentiment.csv",
    ]
    data = combine_sources([(s.load(), s.weight) for s in sources])
    assert [s.weight for s in data.sources] == [1.0, 2.0, 0.25, 1.0]
    train, val = split_data(data, TrainConfig())
    assert len(train) + len(val) == len(data)
    assert data.held_out is not None
    assert len(val) == int(data.held_out.sum())
    assert not set(train.texts) & {t for t, h in zip(data.texts, data.held_out, strict=True) if h}
    masks = data.class_masks()
    social = data.origin_ids() == 2
    assert not masks[social, 1].any()
    assert masks[~social].all()


def test_crypto_sources_explain_an_empty_folder_and_an_unknown_weight(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="holds none of"):
        crypto_sources(tmp_path)
    _tfns(tmp_path / TFNS_FILE)
    with pytest.raises(DataError, match=r"no source named nope.csv"):
        crypto_sources(tmp_path, {"nope.csv": 2.0})


def test_masked_objective_leaves_the_neutral_logit_alone_on_polar_rows() -> None:
    logits = torch.tensor([[0.2, 1.5, -0.3], [0.1, 0.4, 0.9]], requires_grad=True)
    labels = torch.tensor([2, 1])
    masks = torch.tensor([[True, False, True], [True, True, True]])
    loss = masked_cross_entropy(logits, labels, masks, None)
    loss.backward()
    assert logits.grad is not None
    assert logits.grad[0, 1] == 0  # polar row: no say on neutral
    assert logits.grad[1].abs().sum() > 0
    # Row 0 alone: cross-entropy over negative and positive only.
    expected = -torch.log_softmax(torch.tensor([0.2, -0.3]), dim=0)[1]
    alone = masked_cross_entropy(logits[:1], labels[:1], masks[:1], None)
    assert float(alone.detach()) == pytest.approx(float(expected), rel=1e-6)
    # Full masks and weights: the weighted mean of plain cross-entropy.
    full = torch.ones_like(masks)
    weights = torch.tensor([1.0, 3.0])
    plain = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    weighted = masked_cross_entropy(logits, labels, full, weights)
    assert float(weighted.detach()) == pytest.approx(
        float((plain * weights).sum().detach() / 4), rel=1e-6
    )


def test_polarity_metrics_rank_the_signed_score_and_count_neutral_calls() -> None:
    y = np.array([0, 2, 2, 0, 1])
    probs = np.array(
        [
            [0.7, 0.2, 0.1],  # negative, right
            [0.1, 0.6, 0.3],  # positive called neutral, sign right
            [0.2, 0.1, 0.7],  # positive, right
            [0.2, 0.3, 0.5],  # negative with a positive sign, above a positive
            [0.1, 0.8, 0.1],  # neutral: not a polar row
        ]
    )
    m = polarity_metrics(y, probs)
    assert m["polar_n"] == 4
    assert m["polar_accuracy"] == pytest.approx(0.5)
    assert m["sign_accuracy"] == pytest.approx(0.75)
    assert m["called_neutral"] == pytest.approx(0.25)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert polarity_metrics(np.array([1, 1]), probs[:2]) == {"polar_n": 0}
    assert polarity_metrics(np.array([2, 2]), probs[1:3])["roc_auc"] is None


def test_selection_is_weighted_f1_for_one_source_and_a_mean_per_source_for_several(
    tmp_path: Path,
) -> None:
    one = load_labelled(
        _tfns(tmp_path / "t.csv", 9), label_map={"0": "negative", "1": "positive", "2": "neutral"}
    )
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=len(one))
    assert selection_score(one, probs) == pytest.approx(
        classification_metrics(one.labels, probs.argmax(axis=1))["weighted_f1"]
    )
    polar = stocktwits_source(_stocktwits(tmp_path / "st.csv")).load()
    both = combine_sources([(one, 1.0), (polar, 1.0)])
    probs = rng.dirichlet(np.ones(3), size=len(both))
    per = per_source_metrics(both, probs)
    assert set(per) == {"t.csv", "st.csv"}
    expected = (per["t.csv"]["weighted_f1"] + per["st.csv"]["roc_auc"]) / 2
    assert selection_score(both, probs) == pytest.approx(expected)


def test_a_file_that_mixes_sources_reads_as_one_source_per_value(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "mixed.csv",
        ["text", "label", "site"],
        [["a", "positive", "reddit"], ["b", "negative", "news"], ["c", "neutral", "reddit"]],
    )
    data = load_labelled(f, source_col="site")
    assert [s.name for s in data.sources] == ["mixed.csv:news", "mixed.csv:reddit"]
    assert data.origin_ids().tolist() == [1, 0, 1]
    with pytest.raises(DataError, match="no source column 'source'"):
        load_labelled(f, source_col="source")


def test_the_crypto_tier_is_the_target_when_the_labelled_folder_holds_sources(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _cryptolin(tmp_path / CRYPTOLIN_FILE)
    settings = SentimentSettings(labelled_dir=tmp_path, train_data=tmp_path / "absent.csv")
    plan = target_plan(settings, default_recipes(settings))
    assert plan.tier == "crypto"
    assert [s.name for s in plan.sources] == [CRYPTOLIN_FILE, "seed_sentiment.csv"]
    empty = tmp_path / "empty"
    empty.mkdir()
    fallback = target_plan(
        SentimentSettings(labelled_dir=empty), default_recipes(SentimentSettings())
    )
    assert fallback.tier == "seed"
    assert "not training the crypto model" in caplog.text
