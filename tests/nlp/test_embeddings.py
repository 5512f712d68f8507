"""Sentence embeddings from the packaged MiniLM: the FP32 reference and the int8 ONNX export.

The real-model tests are ``slow``; the int8 export is built once per session into a
temporary cache and shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.settings import load_settings
from nlp.embeddings import (
    EXPORT_RECIPE,
    PACKAGED_MODEL,
    Embedder,
    EmbeddingError,
    OnnxInt8Embedder,
    SentenceTransformerEmbedder,
    build_embedder,
    ensure_onnx_export,
    resolve_model_path,
)

TEXTS = [
    "Spot bitcoin ETF inflows hit a record as BTC rallies past $70,000",
    "Ethereum gas fees fall to a two-year low after the Dencun upgrade",
    "SEC sues a major crypto exchange over unregistered securities",
    "Dogecoin jumps 20% after a celebrity tweet; traders say FUD is over",
    "Solana network outage halts block production for five hours",
    "Rug pull: anonymous DeFi team drains $12M from liquidity pools",
]


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("embeddings")
    return ensure_onnx_export(resolve_model_path(PACKAGED_MODEL), cache, "all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def fp32() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        resolve_model_path(PACKAGED_MODEL), label="all-MiniLM-L6-v2", batch_size=8
    )


@pytest.fixture(scope="session")
def int8(export_dir: Path) -> OnnxInt8Embedder:
    return OnnxInt8Embedder(export_dir, batch_size=4)


def test_unknown_model_folder_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="neither"):
        resolve_model_path(str(tmp_path / "no-such-model"))


def test_onnx_embedder_on_a_folder_without_an_export_says_so(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="no ONNX embedding export"):
        OnnxInt8Embedder(tmp_path)


def test_a_corrupt_cached_export_gives_a_clear_error_saying_how_to_rebuild(
    tmp_path: Path,
) -> None:
    (tmp_path / "meta.json").write_text(
        json.dumps({"recipe": EXPORT_RECIPE, "model": "m", "dim": 384, "max_length": 256})
    )
    (tmp_path / "model.int8.onnx").write_bytes(b"not a model")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(EmbeddingError, match="delete that folder"):
        OnnxInt8Embedder(tmp_path)


def test_unknown_runtime_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(EmbeddingError, match="unknown embedding runtime"):
        build_embedder(settings.embeddings, settings.paths, runtime="tensorflow")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_minilm_gives_384_dim_unit_vectors_in_input_order(
    kind: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = request.getfixturevalue(kind)
    assert isinstance(embedder, Embedder)
    out = embedder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 384)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # order is preserved although the int8 path sorts texts by length internally
    again = embedder.encode(TEXTS[::-1])[::-1]
    assert np.all((out * again).sum(axis=1) > 0.99)
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_int8_onnx_agrees_with_fp32_at_cosine_0_99_or_better(
    fp32: SentenceTransformerEmbedder, int8: OnnxInt8Embedder
) -> None:
    cosines = (fp32.encode(TEXTS) * int8.encode(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.99, cosines


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_query_about_bitcoin_etf_inflows_ranks_the_matching_headline_first(
    kind: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = request.getfixturevalue(kind)
    docs = embedder.encode(TEXTS)
    query = embedder.encode(["bitcoin ETF inflows"])[0]
    ranking = np.argsort(-(docs @ query))
    assert ranking[0] == 0
    unrelated = TEXTS.index("Solana network outage halts block production for five hours")
    assert float(docs[0] @ query) > float(docs[unrelated] @ query) + 0.2


@pytest.mark.slow
def test_onnx_export_is_cached_and_reused(export_dir: Path) -> None:
    model = export_dir / "model.int8.onnx"
    before = model.stat().st_mtime_ns
    again = ensure_onnx_export(
        resolve_model_path(PACKAGED_MODEL), export_dir.parent, "all-MiniLM-L6-v2"
    )
    assert again == export_dir
    assert model.stat().st_mtime_ns == before
    assert not [p for p in export_dir.parent.iterdir() if p.name.startswith(".export-")]


@pytest.mark.slow
def test_build_embedder_from_settings_names_model_and_runtime(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, embeddings={"runtime": "torch"})
    embedder = build_embedder(settings.embeddings, settings.paths)
    assert embedder.name == "all-MiniLM-L6-v2/torch-fp32"
    assert embedder.dim == 384
