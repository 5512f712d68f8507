"""Training recipes beyond the plain fine-tune: distillation from seed-ensemble teachers.

The slow tests train real MiniLMs on 60 rows of the seed set for one epoch (seconds each); the
rest check the pieces that need no model: softened labels, option checks, teacher reuse rules.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nlp.sentiment.card import read_card
from nlp.sentiment.config import TrainConfig, TrainError
from nlp.sentiment.data import load_labelled
from nlp.sentiment.distil import reusable_teacher, soften, teacher_configs
from nlp.sentiment.train import TrainResult, train_model
from tests.sentiment_fixtures import QUICK, write_seed_subset

TINY_DISTIL = replace(QUICK, max_length=16, batch_size=16, recipe="distil", teachers=2)


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed_subset(tmp_path_factory.mktemp("tiny") / "tiny.csv", 60)


@pytest.fixture(scope="module")
def distilled(tmp_path_factory: pytest.TempPathFactory, tiny_csv: Path) -> TrainResult:
    out = tmp_path_factory.mktemp("distil") / "student"
    return train_model(load_labelled(tiny_csv), TINY_DISTIL, out, progress=False)


def test_softening_at_temperature_one_keeps_probabilities_and_higher_flattens_them() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]])
    assert np.allclose(soften(probs, 1.0), probs)
    hot = soften(probs, 3.0)
    assert np.allclose(hot.sum(axis=1), 1.0)
    assert (hot.max(axis=1) < probs.max(axis=1)).all()
    assert (hot.argmax(axis=1) == probs.argmax(axis=1)).all()
    logits = np.log(probs) + 4.2  # the same as softmax(logits / T) for any logits
    expected = np.exp(logits / 3.0) / np.exp(logits / 3.0).sum(axis=1, keepdims=True)
    assert np.allclose(hot, expected)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"recipe": "bagging"}, "recipe must be one of plain, distil"),
        ({"recipe": "distil", "teachers": 0}, "at least 1 teacher"),
        ({"recipe": "distil", "distil_alpha": 1.5}, "distil alpha"),
        ({"recipe": "distil", "temperature": 0.0}, "temperature"),
    ],
)
def test_bad_recipe_options_are_refused_before_any_training(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(TrainError, match=message):
        replace(TrainConfig(), **changes).check()  # type: ignore[arg-type]


def test_teachers_differ_only_in_seed_and_share_the_students_split() -> None:
    config = TrainConfig(seed=13, lr=1e-4, recipe="distil", teachers=3)
    teachers = teacher_configs(config, "minilm-tfns")
    assert [t.seed for t in teachers] == [14, 15, 16]
    assert {t.split_seed for t in teachers} == {13}
    assert {(t.lr, t.epochs, t.recipe) for t in teachers} == {(1e-4, config.epochs, "plain")}
    assert [t.name for t in teachers] == [f"minilm-tfns-teacher-{i}" for i in (1, 2, 3)]


def test_distil_command_with_a_bad_alpha_is_a_user_error_not_a_traceback(
    tiny_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    from cryptosense.cli import main

    argv = ["nlp", "train", "--data", str(tiny_csv), "--out", str(tmp_path / "m")]
    code = main([*argv, "--recipe", "distil", "--distil-alpha", "2"])
    assert code == 2
    assert "distil alpha must be in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_distil_recipe_trains_teachers_then_one_student_and_records_them_in_the_card(
    distilled: TrainResult,
) -> None:
    card = read_card(distilled.path)
    recipe = card.distillation
    assert recipe is not None and distilled.distillation == recipe
    assert card.config.recipe == "distil"
    assert [t.seed for t in recipe.teachers] == [QUICK.seed + 1, QUICK.seed + 2]
    assert not any(t.reused for t in recipe.teachers)
    teacher_root = distilled.path.parent / "student-teachers"
    for i, teacher in enumerate(recipe.teachers, start=1):
        assert teacher.path == str(teacher_root / f"teacher-{i}")
        tcard = read_card(teacher_root / f"teacher-{i}")
        assert tcard.sources[0].validation_rows == card.sources[0].validation_rows
        assert tcard.config.split_seed == QUICK.seed
        assert 0 <= teacher.validation.weighted_f1 <= 1
    assert card.held_out is not None and recipe.ensemble.n == card.held_out.n
    assert set(recipe.seconds) == {"teachers", "soft_labels", "student", "total"}
    # the shipped model is one MiniLM like its teachers, not an ensemble
    student_cfg = json.loads((distilled.path / "config.json").read_text())
    teacher_cfg = json.loads((teacher_root / "teacher-1" / "config.json").read_text())
    assert student_cfg["num_hidden_layers"] == teacher_cfg["num_hidden_layers"] == 6
    md = (distilled.path / "MODEL_CARD.md").read_text()
    assert "distillation from 2 teachers" in md and "ensemble (mean probabilities)" in md


@pytest.mark.slow
def test_second_distil_run_reuses_matching_teachers_and_trains_the_same_student(
    distilled: TrainResult, tiny_csv: Path, tmp_path: Path
) -> None:
    teachers_dir = distilled.path.parent / "student-teachers"
    config = replace(TINY_DISTIL, teachers_dir=str(teachers_dir))
    again = train_model(load_labelled(tiny_csv), config, tmp_path / "again", progress=False)
    assert again.distillation is not None
    assert all(t.reused for t in again.distillation.teachers)
    assert again.version == distilled.version  # same seed, data and threads: same weights


@pytest.mark.slow
def test_saved_teacher_is_reused_only_for_the_same_data_and_recipe(
    distilled: TrainResult, tiny_csv: Path, tmp_path: Path
) -> None:
    teacher = distilled.path.parent / "student-teachers" / "teacher-1"
    data = load_labelled(tiny_csv)
    first = teacher_configs(TINY_DISTIL, "x")[0]
    assert reusable_teacher(teacher, first, data) is not None
    assert reusable_teacher(teacher, replace(first, lr=5e-5), data) is None
    assert reusable_teacher(teacher, replace(first, seed=first.seed + 7), data) is None
    assert reusable_teacher(teacher, replace(first, pooling="mean"), data) is not None
    assert reusable_teacher(teacher, replace(first, pooling="cls"), data) is None
    other = load_labelled(write_seed_subset(tmp_path / "other.csv", 60, seed=9))
    assert reusable_teacher(teacher, first, other) is None


@pytest.mark.slow
def test_held_out_metrics_in_the_card_match_the_saved_model_scored_again(
    distilled: TrainResult, tiny_csv: Path
) -> None:
    """Validation runs with dropout off: the card's numbers are what `nlp eval` will see."""
    from nlp.sentiment.evaluate import classification_metrics
    from nlp.sentiment.hf import LocalSentimentModel
    from nlp.sentiment.loop import split_data

    _, val = split_data(load_labelled(tiny_csv), TINY_DISTIL)
    model = LocalSentimentModel.load(distilled.path, max_length=16, threads=1)
    again = classification_metrics(val.labels, model.predict_proba(list(val.texts)).argmax(1))
    held_out = read_card(distilled.path).held_out
    assert held_out is not None
    assert [list(row) for row in held_out.confusion_matrix] == again["confusion_matrix"]
    assert distilled.distillation is not None
    first = distilled.distillation.teachers[0]
    teacher = LocalSentimentModel.load(first.path, max_length=16, threads=1)
    tprobs = teacher.predict_proba(list(val.texts))
    recorded = [list(row) for row in first.validation.confusion_matrix]
    assert recorded == classification_metrics(val.labels, tprobs.argmax(1))["confusion_matrix"]


@pytest.mark.slow
def test_eval_on_the_held_out_rows_reproduces_the_model_cards_numbers(
    distilled: TrainResult, tiny_csv: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    from cryptosense.cli import main

    argv = ["nlp", "eval", "--data", str(tiny_csv), "--model", str(distilled.path)]
    split = ["--held-out", str(TINY_DISTIL.val_frac), "--split-seed", str(TINY_DISTIL.seed)]
    assert main([*argv, *split]) == 0
    printed = json.loads(capsys.readouterr().out)
    card = read_card(distilled.path)
    assert card.held_out is not None
    assert printed["n"] == card.sources[0].validation_rows == card.held_out.n
    assert printed["confusion_matrix"] == [list(row) for row in card.held_out.confusion_matrix]


def test_eval_with_an_impossible_held_out_share_is_a_user_error(
    tiny_csv: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    from cryptosense.cli import main

    assert main(["nlp", "eval", "--data", str(tiny_csv), "--held-out", "1.5"]) == 2
    assert "--held-out must be a share between 0 and 1" in capsys.readouterr().err
