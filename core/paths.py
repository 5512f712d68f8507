"""Where things live inside the data directory, named once.

Every component that keeps files under ``settings.data_dir`` asks :class:`DataPaths` for its
folder instead of joining path pieces itself, so the layout of a data directory can be read
(and changed) in one place::

    var/
      cryptosense.db            SQLite store (unless db.url names another database)
      vectors/<collection>/     embedded Qdrant shards
      models/sentiment/         trained sentiment models, CURRENT names the one in use
      models/sentiment-onnx/    ONNX int8 exports of sentiment models, by model version
      models/embeddings/        ONNX int8 export of the sentence encoder
      models/llm/               the assembled local LLM (GGUF)
      fusion/                   fusion models, reports and runs
      briefings/                daily briefings (Markdown and HTML)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import UserFacingError


class DataDirError(UserFacingError):
    """The data directory (or a folder inside it) cannot be created or written."""


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "cryptosense.db"

    @property
    def vectors(self) -> Path:
        return self.root / "vectors"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def sentiment_models(self) -> Path:
        return self.models / "sentiment"

    @property
    def sentiment_onnx(self) -> Path:
        return self.models / "sentiment-onnx"

    @property
    def embeddings(self) -> Path:
        return self.models / "embeddings"

    @property
    def llm(self) -> Path:
        return self.models / "llm"

    @property
    def fusion(self) -> Path:
        return self.root / "fusion"

    @property
    def briefings(self) -> Path:
        return self.root / "briefings"

    def ensure(self, folder: Path | None = None) -> Path:
        """Create ``folder`` (default: the data directory itself) or raise
        :class:`DataDirError` with a message fit to show a user."""
        target = self.root if folder is None else folder
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataDirError(
                f"cannot create {target} ({err.strerror or err}); set CRYPTOSENSE_DATA_DIR "
                "to a folder you can write"
            ) from None
        return target
