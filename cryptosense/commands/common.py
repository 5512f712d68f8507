"""What the handlers of several subcommands share: the store they open, how model and data
errors become one line, which model version's scores a command works from, how a time prints.

Imports of the store and the model code sit inside the functions: ``cryptosense --help``
imports every command module, and with it this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptosense.errors import UserError

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store import Store


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    """The store of the configured database (migrated to this code's schema), closed after."""
    from core.store import build_store

    store = build_store(settings.db, settings.paths)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def store_unless_dry_run(settings: Settings, dry_run: bool) -> Iterator[Store | None]:
    """The store, or None for a ``--dry-run`` that must not open (or create) a database."""
    if dry_run:
        yield None
        return
    with open_store(settings) as store:
        yield store


@contextmanager
def sentiment_errors() -> Iterator[None]:
    """Model and data errors are the user's to fix: a message, not a traceback."""
    from nlp.sentiment.base import LabelMappingError
    from nlp.sentiment.data import DataError
    from nlp.sentiment.hf import ModelLoadError
    from nlp.sentiment.train import TrainError

    try:
        yield
    except (DataError, TrainError, ModelLoadError, LabelMappingError) as err:
        raise UserError(str(err)) from None


def stored_model_version(store: Store, requested: str | None) -> str | None:
    """``requested`` when the store holds scores from it, else the latest model version with
    stored scores (None: nothing is scored yet). A version without scores is an error naming
    the stored ones, so a typo is not taken for "no data"."""
    if requested is None:
        return store.scores.latest_version()
    known = store.scores.versions()
    if requested not in known:
        raise UserError(
            f"no scores from model version {requested!r}; stored versions: "
            + (", ".join(sorted(known)) or "none")
        )
    return requested


def fmt_time(value: datetime | None) -> str:
    """A time as the tables print it (``2024-03-05 12:00:00Z``), ``-`` for none."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"
