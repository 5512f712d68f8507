"""Recorded fusion studies and the live model registry.

A study run keeps what a walk-forward stood on (settings, data range and content hash, code
version, seed) and its report card as written, so ``fusion report`` shows it again without
recomputing and a rerun can be compared byte for byte. A registered model points at the run
whose card decided its promotion; the newest entry of an asset and timeframe is the one that
signals (an unpromoted newest entry means "no model", whatever came before it).
"""

from __future__ import annotations

from sqlmodel import col, select

from core.records import RegisteredModel, StudyRun
from core.store.engine import Database
from core.store.tables import FusionModelRow, StudyRunRow


class StudyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # study runs --------------------------------------------------------------------------

    def add_run(self, run: StudyRun) -> StudyRun:
        """Record a run; returns it with its id."""
        with self._db.session() as s, s.begin():
            row = StudyRunRow.model_validate(run.model_dump(exclude={"id"}))
            s.add(row)
            s.flush()
            return StudyRun.model_validate(row.model_dump())

    def run(self, run_id: int) -> StudyRun | None:
        with self._db.session() as s:
            row = s.get(StudyRunRow, run_id)
            return None if row is None else StudyRun.model_validate(row.model_dump())

    def runs(
        self, asset: str | None = None, timeframe: str | None = None, *, limit: int | None = None
    ) -> list[StudyRun]:
        """Runs, newest first, of one asset and/or timeframe when given."""
        with self._db.session() as s:
            q = select(StudyRunRow)
            if asset is not None:
                q = q.where(StudyRunRow.asset == asset)
            if timeframe is not None:
                q = q.where(StudyRunRow.timeframe == timeframe)
            q = q.order_by(col(StudyRunRow.id).desc())
            if limit is not None:
                q = q.limit(limit)
            return [StudyRun.model_validate(r.model_dump()) for r in s.exec(q).all()]

    def latest_runs(self) -> list[StudyRun]:
        """The newest run of each asset and timeframe, ordered by asset then timeframe."""
        newest: dict[tuple[str, str], StudyRun] = {}
        for run in self.runs():
            newest.setdefault((run.asset, run.timeframe), run)
        return [newest[k] for k in sorted(newest)]

    def same_card(self, card_sha256: str, before: int) -> StudyRun | None:
        """The newest earlier run whose card had these exact bytes (a reproduced run)."""
        with self._db.session() as s:
            row = s.exec(
                select(StudyRunRow)
                .where(StudyRunRow.card_sha256 == card_sha256, col(StudyRunRow.id) < before)
                .order_by(col(StudyRunRow.id).desc())
                .limit(1)
            ).first()
            return None if row is None else StudyRun.model_validate(row.model_dump())

    def count_runs(self) -> int:
        return self._db.count(StudyRunRow)

    # the live model registry -------------------------------------------------------------

    def register(self, model: RegisteredModel) -> RegisteredModel:
        """Add a registry entry (it becomes the asset and timeframe's current one)."""
        with self._db.session() as s, s.begin():
            row = FusionModelRow.model_validate(
                {
                    **model.model_dump(exclude={"id"}),
                    "reasons": list(model.reasons),
                    "groups": list(model.groups),
                }
            )
            s.add(row)
            s.flush()
            return _model(row)

    def current(self, asset: str, timeframe: str) -> RegisteredModel | None:
        """The newest entry of an asset and timeframe: the one that decides its signal."""
        with self._db.session() as s:
            row = s.exec(
                select(FusionModelRow)
                .where(FusionModelRow.asset == asset, FusionModelRow.timeframe == timeframe)
                .order_by(col(FusionModelRow.id).desc())
                .limit(1)
            ).first()
            return None if row is None else _model(row)

    def models(self, asset: str | None = None) -> list[RegisteredModel]:
        """Every entry, newest first (of one asset when given)."""
        with self._db.session() as s:
            q = select(FusionModelRow)
            if asset is not None:
                q = q.where(FusionModelRow.asset == asset)
            rows = s.exec(q.order_by(col(FusionModelRow.id).desc())).all()
            return [_model(r) for r in rows]


def _model(row: FusionModelRow) -> RegisteredModel:
    return RegisteredModel.model_validate(row.model_dump())
