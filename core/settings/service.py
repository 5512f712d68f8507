"""Settings of what serves and stores: the database, the API, the offline demo, the agent."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from core.paths import DataPaths
from core.settings.base import Section


class DatabaseSettings(Section):
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


class AgentSettings(Section):
    llm_backend: Literal["llama-cpp", "openai-compatible"] = "llama-cpp"
    model_path: Path | None = Field(
        default=None, description="GGUF file for llama-cpp (unset: the packaged Qwen2.5 1.5B)"
    )
    base_url: str | None = Field(default=None, description="openai-compatible: the endpoint")
    model: str | None = Field(default=None, description="openai-compatible: the model name")
    api_key: SecretStr | None = Field(default=None, description="openai-compatible: the key")
    n_ctx: int = Field(default=4096, ge=512)
    max_tokens: int = Field(default=512, ge=16)
    temperature: float = Field(default=0.1, ge=0, le=2)
    threads: int | None = Field(
        default=None,
        ge=1,
        description="llama-cpp generating threads (None: one per core); on cores shared with "
        "other work 1 is several times faster",
    )
    threads_batch: int | None = Field(
        default=None, ge=1, description="llama-cpp prompt-reading threads (None: as threads)"
    )
    max_llm_calls: int = Field(default=3, ge=0, le=3, description="LLM calls per answer")
    narrative_tokens: int = Field(
        default=90, ge=16, le=1024, description="tokens the narrative may generate per call"
    )
    token_budget: int = Field(
        default=1200, ge=100, description="prompt + generated tokens per answer, all calls"
    )
    time_budget_s: float = Field(default=45.0, gt=0, description="seconds per answer")
    training_cutoff: date = Field(
        default=date(2024, 9, 1),
        description="The LLM's training cut-off: answers as of an earlier time say the model "
        "may have read what happened next",
    )


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: tuple[str, ...] = ()
    rate_per_s: float = Field(
        default=20.0, gt=0, description="requests per second each API key may make, sustained"
    )
    rate_burst: int = Field(
        default=100, ge=1, description="requests a key may make at once before the rate applies"
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="largest request body accepted (else 413)"
    )
    subscriber_queue: int = Field(
        default=1000,
        ge=1,
        description="events held for one stream subscriber; one that falls this far behind "
        "is dropped (it reconnects and resumes from its cursor)",
    )
    cache_s: float = Field(
        default=1.0,
        ge=0,
        description="seconds a sentiment answer is reused while the index has not changed "
        "(0: never)",
    )


class WebhookSettings(Section):
    timeout_s: float = Field(default=5.0, gt=0, description="per delivery attempt")
    max_attempts: int = Field(
        default=6, ge=1, description="attempts before a delivery is marked failed"
    )
    backoff_s: float = Field(
        default=2.0, gt=0, description="wait before the first retry; doubled each time"
    )
    backoff_max_s: float = Field(default=600.0, gt=0, description="longest wait between tries")
    workers: int = Field(default=4, ge=1, le=64, description="deliveries sent at once")
    allow_private: bool = Field(
        default=True,
        description="accept webhook URLs on loopback and private addresses (a local "
        "receiver); turn off where the API is public",
    )


class DemoSettings(Section):
    mode: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="auto: serve the project's sample feeds from 127.0.0.1 when the internet "
        "is unreachable; on: always; off: never.",
    )
    probe_url: str = "https://www.coindesk.com/"
    probe_timeout_s: float = Field(default=3.0, gt=0)
