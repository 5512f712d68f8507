"""One typed settings tree for the whole service.

Values come, in order of precedence, from constructor arguments, environment variables
(prefix ``CRYPTOSENSE_``, nested sections joined with ``__``, e.g.
``CRYPTOSENSE_DB__URL``), an optional TOML file (``CRYPTOSENSE_CONFIG`` or ``--config``), and
the defaults below. Each component receives its own section; nothing reads settings at
import time.

The sections live beside the component that reads them; this module holds the tree that
joins them and re-exports every section, so ``from core.settings import X`` works for all:

- :mod:`core.settings.collect`: ``http``, ``rss``, ``reddit``, ``news``, ``prices``,
  ``onchain``, ``assets`` (collectors/)
- :mod:`core.settings.nlp`: ``sentiment``, ``embeddings``, ``vector``, ``index`` (nlp/)
- :mod:`core.settings.fusion`: ``fusion`` and its nested ``model``, ``gate``, ``risk``,
  ``drift`` (fusion/)
- :mod:`core.settings.service`: ``db``, ``api``, ``webhooks``, ``demo``, ``agent``
  (core/store, api/, agent/)

A new component adds its section class to the module of its area (or a new module here),
a field to :class:`Settings`, and the name to the imports below.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import UserFacingError
from core.paths import DataPaths
from core.settings.base import Section
from core.settings.collect import (
    DEFAULT_FEEDS,
    AssetSettings,
    AssetSpec,
    FeedSpec,
    HttpSettings,
    NewsSettings,
    OnchainSettings,
    PriceSettings,
    RedditSettings,
    RssSettings,
)
from core.settings.fusion import (
    FusionDriftSettings,
    FusionGateSettings,
    FusionModelSettings,
    FusionRiskSettings,
    FusionSettings,
    parse_duration,
)
from core.settings.nlp import EmbeddingSettings, IndexSettings, SentimentSettings, VectorSettings
from core.settings.service import (
    AgentSettings,
    ApiSettings,
    DatabaseSettings,
    DemoSettings,
    WebhookSettings,
)

__all__ = [
    "DEFAULT_FEEDS",
    "AgentSettings",
    "ApiSettings",
    "AssetSettings",
    "AssetSpec",
    "ConfigError",
    "DatabaseSettings",
    "DemoSettings",
    "EmbeddingSettings",
    "FeedSpec",
    "FusionDriftSettings",
    "FusionGateSettings",
    "FusionModelSettings",
    "FusionRiskSettings",
    "FusionSettings",
    "HttpSettings",
    "IndexSettings",
    "NewsSettings",
    "OnchainSettings",
    "PriceSettings",
    "RedditSettings",
    "RssSettings",
    "Section",
    "SentimentSettings",
    "Settings",
    "VectorSettings",
    "WebhookSettings",
    "load_settings",
    "parse_duration",
]

#: The TOML file named by ``load_settings(config=...)`` while that call builds the tree.
_CONFIG_FILE: ContextVar[str | None] = ContextVar("cryptosense_config_file", default=None)


class ConfigError(UserFacingError):
    """Settings that cannot be used; the message names the offending key."""


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
    webhooks: WebhookSettings = WebhookSettings()
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
