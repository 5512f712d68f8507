"""The ONNX int8 runtime: export of a model trained by the project's trainer, agreement with
torch FP32, its own version, the export cache, and the factory's runtime switch.

Slow tier: one real export (about 15 s on a busy 2-core machine) shared by the module; the
factory tests copy it into their data dir instead of exporting again.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from core.settings import Settings, load_settings
from nlp.sentiment.data import SEED_DATA, load_labelled
from nlp.sentiment.hf import LocalSentimentModel
from nlp.sentiment.lifecycle import build_sentiment_model
from nlp.sentiment.onnx import (
    EXPORT_RECIPE,
    META_FILE,
    MODEL_FILE,
    VERSION_SUFFIX,
    OnnxExportError,
    OnnxSentimentModel,
    cache_dir_name,
    ensure_export,
    read_meta,
)
from nlp.sentiment.train import TrainResult

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_model(trained_sentiment: TrainResult, cache_root: Path) -> OnnxSentimentModel:
    return OnnxSentimentModel.from_directory(
        trained_sentiment.path, cache_root, max_length=32, threads=1
    )


@pytest.fixture(scope="module")
def torch_model(trained_sentiment: TrainResult) -> LocalSentimentModel:
    return LocalSentimentModel.load(trained_sentiment.path, max_length=32, threads=1)


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return list(load_labelled(SEED_DATA).texts)


def _never_load() -> tuple[object, object]:
    raise AssertionError("the export should have been reused, not rebuilt")


def test_int8_labels_agree_with_torch_fp32_on_the_seed_texts(
    onnx_model: OnnxSentimentModel, torch_model: LocalSentimentModel, seed_texts: list[str]
) -> None:
    int8 = onnx_model.predict_proba(seed_texts)
    fp32 = torch_model.predict_proba(seed_texts)
    assert int8.shape == fp32.shape == (len(seed_texts), 3)
    assert np.allclose(int8.sum(axis=1), 1.0)
    agree = int8.argmax(axis=1) == fp32.argmax(axis=1)
    assert agree.mean() >= 0.90, f"int8 agrees with FP32 on only {agree.mean():.1%}"
    # The one-epoch test model is unsure of itself (top probability about 0.6, top two often
    # within a few hundredths), so labels may flip where FP32's top two are nearly tied
    # (every flip seen here was within 0.07); where they are 0.1 apart int8 must keep the
    # label, and probabilities must stay close everywhere. The agreement target itself is
    # measured by `nlp bench` on a trained model (README).
    top2 = np.sort(fp32, axis=1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) >= 0.1
    assert decided.sum() >= len(seed_texts) // 3
    assert agree[decided].mean() >= 0.99
    assert np.abs(int8 - fp32).mean() < 0.02


def test_int8_model_has_its_own_version_and_keeps_input_order(
    onnx_model: OnnxSentimentModel, trained_sentiment: TrainResult, seed_texts: list[str]
) -> None:
    assert onnx_model.version == trained_sentiment.version + VERSION_SUFFIX
    assert onnx_model.version != trained_sentiment.version
    texts = seed_texts[:20]
    forward = onnx_model.predict_proba(texts)
    backward = onnx_model.predict_proba(texts[::-1])[::-1]
    # dynamic int8 scales activations per batch, so batch mates shift probabilities slightly
    assert np.array_equal(forward.argmax(axis=1), backward.argmax(axis=1))
    assert np.allclose(forward, backward, atol=0.05)
    assert onnx_model.predict_proba([]).shape == (0, 3)


def test_batches_scored_side_by_side_on_two_threads_equal_one_thread_in_input_order(
    onnx_model: OnnxSentimentModel,
    trained_sentiment: TrainResult,
    cache_root: Path,
    seed_texts: list[str],
) -> None:
    two = OnnxSentimentModel.from_directory(
        trained_sentiment.path, cache_root, max_length=32, threads=2, batch_size=8
    )
    one = OnnxSentimentModel.from_directory(
        trained_sentiment.path, cache_root, max_length=32, threads=1, batch_size=8
    )
    assert (two.workers, one.workers) == (2, 1)
    texts = seed_texts[:60]  # eight batches
    assert np.array_equal(two.predict_proba(texts), one.predict_proba(texts))
    with pytest.raises(ValueError, match="parallel"):
        OnnxSentimentModel.from_directory(trained_sentiment.path, cache_root, parallel="processes")


def test_padding_a_short_text_next_to_a_long_one_does_not_change_its_scores(
    onnx_model: OnnxSentimentModel,
) -> None:
    short = "Bitcoin rallies"
    long = "Regulators publish a long consultation on exchange custody rules " * 3
    alone = onnx_model.predict_proba([short])[0]
    padded = onnx_model.predict_proba([short, long])[0]  # same batch, padded to the long one
    assert np.allclose(alone, padded, atol=0.05)
    assert alone.argmax() == padded.argmax()


def test_rust_tokenizer_gives_the_same_ids_as_the_transformers_tokenizer(
    onnx_model: OnnxSentimentModel, torch_model: LocalSentimentModel, seed_texts: list[str]
) -> None:
    texts = [*seed_texts[:50], "", "$BTC 🚀🚀 to the moon!!!", "word " * 100]
    expected = torch_model.tokenizer(texts, truncation=True, max_length=32)["input_ids"]
    got = [e.ids for e in onnx_model.tokenizer.encode_batch(texts)]
    assert got == expected


def test_export_folder_is_complete_and_reused_on_the_second_load(
    onnx_model: OnnxSentimentModel, trained_sentiment: TrainResult, cache_root: Path
) -> None:
    folder = cache_root / cache_dir_name(trained_sentiment.version)
    meta = read_meta(folder, trained_sentiment.version)
    assert meta is not None and meta["recipe"] == EXPORT_RECIPE
    # matrix multiplications are int8, embedding lookups stay FP32
    assert meta["int8_ops"] == ["MatMul"]
    graph = onnx.load(str(folder / MODEL_FILE)).graph
    ops = {node.op_type for node in graph.node}
    assert "MatMulInteger" in ops and "Gather" in ops
    gathered = {node.input[0] for node in graph.node if node.op_type == "Gather"}
    int8 = {init.name for init in graph.initializer if init.data_type == onnx.TensorProto.INT8}
    assert not gathered & int8
    assert meta["fp32_vs_torch_max_abs_logit_diff"] < 1e-3
    assert sorted(p.name for p in folder.iterdir()) == [META_FILE, MODEL_FILE, "tokenizer.json"]
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns

    assert ensure_export(trained_sentiment.version, cache_root, _never_load) == folder
    again = OnnxSentimentModel.from_directory(trained_sentiment.path, cache_root, threads=1)
    assert again.version == onnx_model.version
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in cache_root.iterdir() if p.name.startswith(".export-")]


def test_an_export_of_an_older_recipe_is_rebuilt_and_a_failed_build_leaves_it_alone(
    onnx_model: OnnxSentimentModel, trained_sentiment: TrainResult, tmp_path: Path
) -> None:
    source = onnx_model.export_dir
    stale = tmp_path / source.name
    shutil.copytree(source, stale)
    meta = (stale / META_FILE).read_text().replace(EXPORT_RECIPE, "an-older-recipe")
    (stale / META_FILE).write_text(meta)
    assert read_meta(stale) is None

    def broken_loader() -> tuple[object, object]:
        raise OSError("weights are unreadable")

    with pytest.raises(OnnxExportError, match="weights are unreadable"):
        ensure_export(trained_sentiment.version, tmp_path, broken_loader)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [stale.name]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]


def test_a_damaged_cached_export_is_rebuilt_on_load(
    trained_sentiment: TrainResult, onnx_model: OnnxSentimentModel, tmp_path: Path
) -> None:
    folder = tmp_path / onnx_model.export_dir.name
    shutil.copytree(onnx_model.export_dir, folder)
    (folder / MODEL_FILE).write_bytes(b"not an onnx graph")
    rebuilt = OnnxSentimentModel.from_directory(
        trained_sentiment.path, tmp_path, max_length=32, threads=1
    )
    assert rebuilt.version == onnx_model.version
    assert (folder / MODEL_FILE).stat().st_size > 1_000_000
    probe = ["Exchange hacked, token crashes 60%"]
    assert np.allclose(rebuilt.predict_proba(probe), onnx_model.predict_proba(probe), atol=1e-6)


# --- factory runtime switch ---------------------------------------------------------------


def _settings(settings: Settings, **sentiment: object) -> Settings:
    return load_settings(data_dir=settings.data_dir, sentiment={"threads": 1, **sentiment})


def _seed_cache(settings: Settings, onnx_model: OnnxSentimentModel) -> Path:
    """Put the module's export where the factory looks, so the switch test exports nothing."""
    target = settings.paths.sentiment_onnx / onnx_model.export_dir.name
    shutil.copytree(onnx_model.export_dir, target)
    return target


def test_factory_default_runtime_is_onnx_int8_with_the_export_cached_in_the_data_dir(
    settings: Settings, trained_sentiment: TrainResult, onnx_model: OnnxSentimentModel
) -> None:
    cfg = _settings(settings, model=str(trained_sentiment.path), max_length=32)
    assert cfg.sentiment.runtime == "onnx-int8"
    cached = _seed_cache(cfg, onnx_model)
    model = build_sentiment_model(cfg.sentiment, cfg.paths)
    assert isinstance(model, OnnxSentimentModel)
    assert model.version == trained_sentiment.version + VERSION_SUFFIX
    assert model.export_dir == cached
    assert model.path == trained_sentiment.path  # the service reads the model card there
    assert model.batch_size == cfg.sentiment.onnx_batch_size


def test_factory_torch_runtime_gives_the_fp32_model(
    settings: Settings, trained_sentiment: TrainResult
) -> None:
    cfg = _settings(settings, model=str(trained_sentiment.path), runtime="torch")
    model = build_sentiment_model(cfg.sentiment, cfg.paths)
    assert isinstance(model, LocalSentimentModel)
    assert model.version == trained_sentiment.version
    assert not cfg.paths.sentiment_onnx.exists()


def test_factory_falls_back_to_torch_with_the_reason_when_the_export_fails(
    settings: Settings, trained_sentiment: TrainResult, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _settings(settings, model=str(trained_sentiment.path))
    cfg.paths.sentiment_onnx.parent.mkdir(parents=True)
    cfg.paths.sentiment_onnx.write_text("a file where the export cache folder should be")
    with caplog.at_level(logging.WARNING, logger="nlp.sentiment.factory"):
        model = build_sentiment_model(cfg.sentiment, cfg.paths)
    assert isinstance(model, LocalSentimentModel)
    assert model.version == trained_sentiment.version
    assert "onnx-int8 is not available" in caplog.text
    assert "using torch FP32 instead" in caplog.text
    assert "sentiment-onnx" in caplog.text  # the reason names the folder that failed
