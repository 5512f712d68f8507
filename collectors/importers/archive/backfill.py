"""The resumable import loop: read rows, commit them in batches, save the offset after each.

Rows are written in batches, each in one transaction (:meth:`Store.add_documents`). Only after
a batch is committed is the byte offset just past its last row saved as the source's cursor,
keyed by the file's sha256, so a killed import resumes at the first row not yet committed.
Store writes are idempotent, so a re-run (or a crash between the batch and its cursor)
re-reads at most one batch and stores nothing twice.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from collectors.assets import AssetTagger
from collectors.importers.archive.fields import Columns
from collectors.importers.archive.lines import refuse_wide_text
from collectors.importers.archive.rows import Row, RowParser, Rows, csv_header
from collectors.importers.archive.spec import FORMATS, ArchiveError, ArchiveSpec, default_source
from core.files import file_sha256
from core.records import Document, IngestWarning
from core.store import Store
from core.times import utcnow

log = logging.getLogger(__name__)

PROBE_ROWS = 20  # rows read ahead to catch wrong options before anything is written


@dataclass
class BackfillSummary:
    """What one run did; printed by ``cryptosense backfill``."""

    source: str
    file: str
    sha256: str
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    warnings: int = 0
    batches: int = 0
    resumed_at_row: int = 0
    complete: bool = False
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Batch:
    documents: list[Document] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    skipped: int = 0
    rows: int = 0
    last_row: int = 0
    end_offset: int = 0


def backfill(
    store: Store,
    spec: ArchiveSpec,
    tagger: AssetTagger,
    *,
    progress: bool | None = None,
    now: datetime | None = None,
) -> BackfillSummary:
    """Import ``spec.path`` into ``store``, resuming from the saved offset for this file.

    ``progress``: show a tqdm bar (None: only when stderr is a terminal).
    """
    path = spec.path
    if spec.format not in FORMATS:
        raise ArchiveError(f"unknown format {spec.format!r}; known: {', '.join(FORMATS)}")
    if not path.is_file():
        raise ArchiveError(f"{path} is not a file")
    if spec.batch_size < 1:
        raise ArchiveError("--batch-size must be at least 1")
    started = time.monotonic()
    stat = path.stat()
    state_name = spec.state_name
    saved = dict(store.sources.state(state_name).cursor or {})
    sha = _fingerprint(path, stat, saved)
    entry = dict(saved.get("files", {}).get(sha, {}))
    summary = BackfillSummary(
        source=spec.source or default_source(path, spec.format), file=str(path), sha256=sha
    )
    if entry.get("done") and not spec.restart:
        log.info("%s was imported completely before (sha256 %s); nothing to do", path, sha[:12])
        summary.complete = True
        summary.resumed_at_row = int(entry.get("row", 0))
        return summary
    offset = 0 if spec.restart else int(entry.get("offset", 0))
    row = 0 if spec.restart else int(entry.get("row", 0))
    summary.resumed_at_row = row
    if offset:
        log.info("%s: resuming after row %d (byte %d)", path.name, row, offset)

    refuse_wide_text(path)
    layout = csv_header(spec) if spec.format == "news-csv" else None
    columns = Columns.resolve(spec, layout[0] if layout else None)
    parser = RowParser(spec, tagger, now or utcnow(), columns)
    _probe(Rows(spec, parser, offset, row, layout or ([], ",")))
    rows = Rows(spec, parser, offset, row, layout or ([], ","))
    bar = tqdm(
        total=stat.st_size,
        initial=rows.reader.raw_position,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=path.name,
        disable=None if progress is None else not progress,
        leave=False,
    )
    batch = _Batch(end_offset=offset, last_row=row)
    complete = True
    try:
        for parsed in rows:
            _add(batch, parsed)
            batch.end_offset, batch.last_row = rows.end_offset, rows.row
            if batch.rows >= spec.batch_size:
                _commit(store, spec, sha, stat.st_size, batch, summary, done=False)
                bar.update(rows.reader.raw_position - bar.n)
                batch = _Batch(end_offset=rows.end_offset, last_row=rows.row)
                if spec.max_batches is not None and summary.batches >= spec.max_batches:
                    complete = False
                    break
        batch.end_offset, batch.last_row = rows.end_offset, rows.row
        _commit(store, spec, sha, stat.st_size, batch, summary, done=complete)
        bar.update(rows.reader.raw_position - bar.n)
    finally:
        bar.close()
        rows.close()
    summary.complete = complete
    summary.elapsed_s = round(time.monotonic() - started, 3)
    log.info(
        "%s: %d rows read, %d stored, %d duplicates, %d skipped, %d warnings%s",
        path.name,
        summary.rows_read,
        summary.stored,
        summary.duplicates,
        summary.skipped,
        summary.warnings,
        "" if complete else " (stopped early; run again to continue)",
    )
    return summary


def _probe(probe: Rows) -> None:
    """Refuse up front when none of the first rows can be read.

    A wrong ``--format``, ``--date-format`` or ``--date-col`` would otherwise turn every row
    into a warning and move the saved offset past rows that a corrected run would then not
    read again (short of ``--restart``).
    """
    try:
        first = list(itertools.islice(probe, PROBE_ROWS))
    finally:
        probe.close()
    read = [r for r in first if r.document is not None or r.warning is not None]
    refused = [r.warning for r in read if r.warning is not None]
    if len(refused) < 3 or len(refused) != len(read):
        return
    if all(w.reason == "bad-date" for w in refused):
        raise ArchiveError(
            f"none of the first {len(read)} rows has a date that parses "
            f"(e.g. {refused[0].detail}); check --date-col and --date-format"
        )
    raise ArchiveError(
        f"none of the first {len(read)} rows could be read (e.g. {refused[0].reason}: "
        f"{refused[0].detail}); check --format and the column options"
    )


def _fingerprint(path: Path, stat: Any, saved: Mapping[str, Any]) -> str:
    """The file's sha256, reused from the cursor when size and mtime show it unchanged."""
    for sha, entry in (saved.get("files") or {}).items():
        if (
            entry.get("path") == str(path.resolve())
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
        ):
            return str(sha)
    return file_sha256(path)


def _add(batch: _Batch, parsed: Row) -> None:
    batch.rows += 1
    if parsed.document is not None:
        batch.documents.append(parsed.document)
    elif parsed.warning is not None:
        batch.warnings.append(parsed.warning)
    else:
        batch.skipped += 1


def _commit(
    store: Store,
    spec: ArchiveSpec,
    sha: str,
    size: int,
    batch: _Batch,
    summary: BackfillSummary,
    *,
    done: bool,
) -> None:
    """Write one batch, then (only then) move the file's saved offset past it."""
    result = store.documents.add(batch.documents)
    store.sources.add_warnings(batch.warnings)
    stat = spec.path.stat()
    state = store.sources.state(spec.state_name)
    cursor = dict(state.cursor or {})
    files = dict(cursor.get("files") or {})
    files[sha] = {
        "path": str(spec.path.resolve()),
        "size": size,
        "mtime_ns": stat.st_mtime_ns,
        "offset": batch.end_offset,
        "row": batch.last_row,
        "done": done,
        "updated_at": utcnow().isoformat(),
    }
    cursor["files"] = files
    store.sources.record_result(spec.state_name, ok=True, items=result.new, cursor=cursor)
    summary.rows_read += batch.rows
    summary.stored += result.new
    summary.duplicates += result.duplicates + result.merged
    summary.skipped += batch.skipped
    summary.warnings += len(batch.warnings)
    if batch.rows:
        summary.batches += 1
