"""A whole study on constructed data: the card's sections, honesty about missing sources,
clear errors for bad ranges, and reruns identical to the byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from fusion.data import FusionDataError, MarketData
from fusion.report import card, card_html, card_json, write_card
from fusion.study import Study, StudySpec, run_study
from tests.fusion import synthetic
from tests.fusion.conftest import fast_settings, predictable_candles

SETTINGS = fast_settings(bootstrap_reps=100, pbo_blocks=8)


def _market(with_sentiment: bool = True) -> MarketData:
    n = 24 * 75
    start = synthetic.START
    sent = (
        synthetic.sentiment(start + pd.Timedelta(days=15), start + pd.Timedelta(hours=n))
        if with_sentiment
        else None
    )
    return MarketData.of(
        "BTC", "1h", predictable_candles(n, seed=8), synthetic.onchain(75, seed=9), sent
    )


@pytest.fixture(scope="module")
def study() -> Study:
    return run_study(_market(), SETTINGS)


def test_card_holds_every_section(study: Study) -> None:
    data = card(study)
    assert set(data) >= {
        "manifest",
        "summary",
        "arms",
        "ablation",
        "regimes",
        "overfitting",
        "gate",
        "curves",
    }
    assert list(data["arms"]) == [
        "buy_and_hold",
        "price",
        "price_onchain",
        "price_onchain_sentiment",
    ]
    assert [c["arm"] for c in data["ablation"]] == [
        "price",
        "price_onchain",
        "price_onchain_sentiment",
    ]
    assert data["summary"]["chosen"] == "price_onchain_sentiment"
    assert data["overfitting"]["pbo"]["variants"] == 3 * len(study.spec.thresholds)
    assert 0.0 <= data["overfitting"]["dsr"]["dsr"] <= 1.0
    assert {r["regime"] for r in data["regimes"]} <= {"trending", "ranging", "high_vol", "unknown"}
    assert data["gate"]["passed"] in (True, False)
    assert data["curves"]["equity"]["buy_and_hold"][0][1] > 0


def test_each_arm_says_how_much_history_it_stands_on(study: Study) -> None:
    arms = card(study)["arms"]
    price, sent = arms["price"]["history"], arms["price_onchain_sentiment"]["history"]
    assert price["usable_rows"] > sent["usable_rows"] > 0
    assert sent["first"] > price["first"]  # sentiment starts on day 15
    assert arms["price"]["metrics"]["folds_run"] >= 1


def test_the_planted_edge_shows_and_beats_buy_and_hold(study: Study) -> None:
    price = study.arms["price"].metrics
    assert price["hit_rate"] is not None and price["hit_rate"] > 0.6
    first = study.comparisons[0]
    assert first.verdict == "better", first.statement()


def test_manifest_records_what_the_run_stands_on(study: Study) -> None:
    m = study.manifest
    assert len(m["data"]["content_sha256"]) == 64
    assert len(m["code"]["fusion_sha256"]) == 64
    assert m["seed"] == SETTINGS.seed
    assert m["settings"]["horizon"] == "1h"
    assert m["study"]["thresholds"] == [0.0, 0.02, 0.05]
    assert m["data"]["candles"]["rows"] == 24 * 75


def test_rerunning_gives_a_byte_identical_card(study: Study) -> None:
    again = run_study(_market(), SETTINGS)
    assert card_json(card(again)) == card_json(card(study))
    assert card_html(card(again)) == card_html(card(study))


def test_without_sentiment_the_arm_says_so_and_invents_nothing() -> None:
    res = run_study(_market(with_sentiment=False), SETTINGS, StudySpec(thresholds=(0.0,)))
    data = card(res)
    arm = data["arms"]["price_onchain_sentiment"]
    assert arm["status"] == "no sentiment history"
    assert arm["history"]["usable_rows"] == 0
    assert all(v is None for v in arm["metrics"].values())
    assert data["summary"]["sentiment"] == "sentiment: not compared (no sentiment history)"
    assert data["summary"]["chosen"] == "price_onchain"
    assert "no sentiment history" in data["summary"]["notes"]


def test_card_json_is_strict_json_and_html_is_self_contained(study: Study, tmp_path: Path) -> None:
    data = card(study)
    json_path, html_path = write_card(data, tmp_path)
    assert json.loads(json_path.read_text()) == data
    html = html_path.read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 3
    for external in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert external not in html
    assert "no measurable edge from" in html or "raises the Sharpe" in html


def test_progress_is_reported_for_each_walk_forward() -> None:
    seen: list[tuple[str, int, int]] = []
    run_study(
        _market(with_sentiment=False),
        SETTINGS,
        StudySpec(thresholds=(0.0,)),
        progress=lambda s, d, n: seen.append((s, d, n)),
    )
    assert [d for _, d, _ in seen] == [1, 2]
    assert seen[0][0] == "walk-forward price h=1h"


def test_a_range_with_no_data_is_one_clear_error() -> None:
    spec = StudySpec(test_to=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(FusionDataError, match="no 1h candles for BTC in the range"):
        run_study(_market(), SETTINGS, spec)


def test_too_few_bars_for_one_fold_is_one_clear_error() -> None:
    md = MarketData.of("BTC", "1h", synthetic.candles(24 * 20))
    with pytest.raises(FusionDataError, match="too few bars for one walk-forward fold"):
        run_study(md, SETTINGS)


def test_too_few_bars_to_warm_up_is_one_clear_error() -> None:
    md = MarketData.of("BTC", "1h", synthetic.candles(100))
    with pytest.raises(FusionDataError, match="too few bars for the features to warm up"):
        run_study(md, SETTINGS)


def test_every_horizon_and_threshold_tried_counts_as_a_variant() -> None:
    spec = StudySpec(horizons=("2h",), thresholds=(0.0, 0.03))
    res = run_study(_market(with_sentiment=False), SETTINGS, spec)
    assert len(res.variants) == 2 * 2 * 2  # price and price_onchain x 2 horizons x 2 thresholds
    assert "price_onchain|h=2h|edge=0.03" in res.variants
    assert res.pbo is not None and res.pbo.variants == 8
    assert res.dsr is not None and res.dsr.trials == 8
