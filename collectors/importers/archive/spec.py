"""What an archive import is asked to do, and the error that refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import UserFacingError

ArchiveFormat = Literal["news-jsonl", "news-csv", "reddit"]
FORMATS: tuple[str, ...] = ("news-jsonl", "news-csv", "reddit")


class ArchiveError(UserFacingError, ValueError):
    """The archive or the options cannot be used at all (missing file, unknown column, a
    header that cannot be read); the message says what to do. Nothing was written."""


@dataclass(frozen=True)
class ArchiveSpec:
    """What to import and how to read it; None means: find it out from the file."""

    path: Path
    format: ArchiveFormat
    source: str | None = None
    text_col: str | None = None
    title_col: str | None = None
    date_col: str | None = None
    url_col: str | None = None
    id_col: str | None = None
    date_format: str | None = None
    delimiter: str | None = None
    batch_size: int = 500
    max_batches: int | None = None  # stop after this many committed batches (a partial run)
    restart: bool = False  # read the file from the start even if it was imported before

    @property
    def state_name(self) -> str:
        """The source-state row holding this import's progress."""
        return f"backfill:{self.source or default_source(self.path, self.format)}"


def default_source(path: Path, fmt: str) -> str:
    """``archive:<file stem>`` for news; ``reddit`` for dumps (rows then name their subreddit)."""
    if fmt == "reddit":
        return "reddit"
    name = path.name
    for suffix in (".zst", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return f"archive:{name or 'file'}"
