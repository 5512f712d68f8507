"""Backfill of a real, dated crypto-news archive (third-party; skips when it is not given).

``sentiment/cryptonews_2021_2022.csv``: 7,524 headlines and summaries, ``;``-separated,
dates ``d-m-Y H:M``, a Python-dict ``sentiment`` column (ignored), and literal ``\\xa0``
sequences in 239 texts. Two rows are the same story under two URLs: the store keeps that story
once (merged, both counted), so 7,524 rows give 7,523 documents.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from collectors.assets import AssetTagger
from collectors.importers.archive import ArchiveSpec, backfill
from core.records import document_id
from core.store import Store
from core.store.tables import DocumentRow

ROWS = 7524


def test_cryptonews_archive_lands_every_row_with_its_original_date(
    real_data: Path, sqlite_store: Store
) -> None:
    path = real_data / "sentiment" / "cryptonews_2021_2022.csv"
    spec = ArchiveSpec(
        path=path,
        format="news-csv",
        source="cryptonews",
        delimiter=";",
        date_format="%d-%m-%Y %H:%M",
        batch_size=1000,
    )
    summary = backfill(sqlite_store, spec, AssetTagger(), progress=False)

    assert summary.complete
    assert (summary.rows_read, summary.warnings, summary.skipped) == (ROWS, 0, 0)
    assert summary.stored + summary.duplicates == ROWS
    assert sqlite_store.documents.count() == summary.stored >= ROWS - 1

    with path.open(encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh, delimiter=";"))
    assert len(raw) == ROWS
    with sqlite_store.session() as s:
        stored = {
            r.id: r
            for r in s.exec(select(DocumentRow).where(DocumentRow.source == "cryptonews")).all()
        }
    by_row = {r.meta["row"]: r for r in stored.values()}
    missing = []
    for number, row in enumerate(raw, start=1):
        when = datetime.strptime(row["date"], "%d-%m-%Y %H:%M").replace(tzinfo=UTC)
        doc = stored.get(document_id(url=row["url"])) if row["url"] else by_row.get(number)
        if doc is None:
            missing.append(number)
            continue
        assert doc.published_at == when, number
        assert doc.ingested_at == when, number
    # Only the second copy of a story stored under another URL is absent by its own id.
    assert len(missing) == ROWS - len(stored)
    assert not any("\\xa0" in r.text or "\\xa0" in r.title for r in stored.values())
    assert all(r.meta["backfill"] is True for r in stored.values())
    first = min(r.published_at for r in stored.values())
    last = max(r.published_at for r in stored.values())
    assert (first.date().isoformat(), last.date().isoformat()) == ("2021-10-12", "2022-07-05")
