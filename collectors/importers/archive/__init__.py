"""Backfill from archives: JSONL/CSV news files and Reddit dumps, with their original times.

Why: a user should be able to build years of sentiment history in one command, and an
interrupted import must pick up where it stopped without duplicates or gaps.

Rules (see docs/news.md):

* ``published_at`` is the time the archive gives for the row. Because every index is as-of
  by ``ingested_at``, a backfilled document's ``ingested_at`` is set to its ``published_at``:
  the archive is our claim of when the market could first see the item. ``metadata`` carries
  ``backfill=true`` and ``imported_at`` (when this import ran) so the claim stays auditable.
* Files are streamed line by line (``.zst`` through :mod:`zstandard`), never loaded whole.
* Rows are committed in batches and the byte offset after each committed batch is saved,
  keyed by the file's sha256, so a killed import resumes at the first row not yet committed.
* A bad row (broken JSON, no text, a date that does not parse) becomes an
  :class:`IngestWarning` naming the row; the import carries on. Options that cannot work (an
  unknown column, an unreadable header) raise :class:`ArchiveError` before anything is
  written.

Modules: :mod:`~.spec` (what to import, :class:`ArchiveError`), :mod:`~.lines` (plain and
``.zst`` files, line by line), :mod:`~.fields` (what a news row's columns mean),
:mod:`~.rows` (rows -> documents; Reddit things through :mod:`collectors.parsers.reddit`) and
:mod:`~.backfill` (the batched, resumable loop).
"""

from collectors.importers.archive.backfill import BackfillSummary, backfill
from collectors.importers.archive.fields import parse_date, unescape_literals
from collectors.importers.archive.rows import BACKFILL_KEYS
from collectors.importers.archive.spec import FORMATS, ArchiveError, ArchiveFormat, ArchiveSpec

__all__ = [
    "BACKFILL_KEYS",
    "FORMATS",
    "ArchiveError",
    "ArchiveFormat",
    "ArchiveSpec",
    "BackfillSummary",
    "backfill",
    "parse_date",
    "unescape_literals",
]
