"""Walk-forward validation: train on the past, test on the next window, move on. No random
split anywhere, and nothing from a test window or after it reaches the model that predicts it.

Between each train window and its test window lie a purge and an embargo. The purge is the
horizon: the label of row i is only known at the close of bar i+h, so the last h rows before
a test window have labels the test period would reveal, and they are dropped. It is not a
setting, because a smaller one would leak. The embargo (``embargo_days``) adds a further gap.
The same purge separates the rows the trees fit on from the calibration slice after them.

Each test window is ``test_days`` long, and the model is retrained at the start of each: the
test window length *is* the retraining interval, so it has one setting, not two that could
disagree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.settings import FusionSettings
from fusion.data import FusionDataError, iso
from fusion.features.base import Group
from fusion.features.builder import FeatureFrame
from fusion.model import FusionModel

log = logging.getLogger(__name__)

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Fold:
    """Row positions: train ``[train_start, train_end)``, test ``[test_start, test_end)``."""

    number: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class FoldRecord:
    number: int
    test_first: str
    test_last: str
    train_first: str | None = None
    train_last: str | None = None
    train_rows: int = 0
    calibration_rows: int = 0
    calibration: str = ""
    test_rows: int = 0
    skipped: str | None = None


def window_bars(bar: pd.Timedelta, settings: FusionSettings) -> tuple[int, int, int]:
    """(train, test, embargo) in bars of the timeframe."""
    train = max(1, round(settings.train_days * DAY / bar))
    test = max(1, round(settings.test_days * DAY / bar))
    embargo = math.ceil(settings.embargo_days * DAY / bar)
    return train, test, embargo


def plan_folds(
    times: pd.DatetimeIndex,
    bar: pd.Timedelta,
    settings: FusionSettings,
    horizon: int,
    *,
    first_row: int = 0,
    test_from: pd.Timestamp | None = None,
) -> list[Fold]:
    """Folds over ``times`` (decision times). The first test window starts once a full train
    window (from ``first_row``, where features have warmed up) plus purge and embargo fit
    before it, and not before ``test_from``."""
    n = len(times)
    train, test, embargo = window_bars(bar, settings)
    gap = horizon + embargo
    start = first_row + train + gap
    if test_from is not None:
        start = max(start, int(times.searchsorted(test_from, side="left")))
    if start >= n:
        need = first_row + train + gap + 1
        raise FusionDataError(
            f"too few bars for one walk-forward fold: need at least {need} "
            f"({first_row} warm-up + {train} train + {gap} purge/embargo + 1 test), have {n}"
        )
    folds: list[Fold] = []
    s = start
    while s < n:
        e = min(s + test, n)
        train_end = s - gap
        train_start = (
            max(first_row, train_end - train) if settings.window == "rolling" else first_row
        )
        folds.append(Fold(len(folds), train_start, train_end, s, e))
        s = e
    return folds


@dataclass
class WalkForward:
    """Out-of-sample P(up) by decision time (NaN where no fold predicted), per-fold records,
    the mean feature importance over folds and the last fold's model."""

    prob: pd.Series
    folds: list[FoldRecord]
    columns: list[str]
    importance: dict[str, float] = field(default_factory=dict)
    last_model: FusionModel | None = None

    @property
    def oos_rows(self) -> int:
        return int(self.prob.notna().sum())


def fit_window(
    frame: FeatureFrame,
    label: pd.Series,
    columns: list[str],
    rows: np.ndarray,
    settings: FusionSettings,
    horizon: int,
) -> FusionModel | str:
    """A model fitted on the row positions ``rows`` (time order): the trees on the older
    part, the calibration on the newest ``calibration_fraction``, with a purge of ``horizon``
    rows between. Returns the reason instead when the rows cannot make a model."""
    if len(rows) < settings.min_train_rows:
        return f"{len(rows)} usable train rows < min_train_rows {settings.min_train_rows}"
    n_cal = int(len(rows) * settings.model.calibration_fraction)
    cal = rows[len(rows) - n_cal :]
    fit = rows[: len(rows) - n_cal]
    if n_cal:
        fit = fit[fit < cal[0] - horizon]
    y = label.to_numpy()
    if len(fit) == 0 or len(np.unique(y[fit])) < 2:
        return "the train rows hold one class only"
    x = frame.values
    model = FusionModel(columns, settings.model, seed=settings.seed, threads=settings.threads)
    model.fit(
        x.iloc[fit],
        y[fit].astype(np.int32),
        x.iloc[cal] if n_cal else None,
        y[cal].astype(np.int32) if n_cal else None,
    )
    return model


def run_walkforward(
    frame: FeatureFrame,
    label: pd.Series,
    folds: Sequence[Fold],
    groups: Sequence[Group],
    settings: FusionSettings,
    horizon: int,
    progress: Callable[[int, int], None] | None = None,
) -> WalkForward:
    """Fit one model per fold on the arm's feature groups and predict its test window."""
    columns = frame.columns(groups)
    usable = frame.usable(groups).to_numpy()
    labelled = label.notna().to_numpy()
    times = frame.values.index
    prob = np.full(len(times), np.nan)
    records: list[FoldRecord] = []
    gains: list[dict[str, float]] = []
    model: FusionModel | None = None
    for k, fold in enumerate(folds):
        pos = np.arange(fold.train_start, fold.train_end)
        rows = pos[usable[pos] & labelled[pos]]
        test = np.arange(fold.test_start, fold.test_end)
        test = test[usable[test]]
        test_first, test_last = iso(times[fold.test_start]), iso(times[fold.test_end - 1])
        fitted = (
            fit_window(frame, label, columns, rows, settings, horizon)
            if len(test)
            else "no usable test rows"
        )
        if isinstance(fitted, str):
            records.append(
                FoldRecord(fold.number, test_first, test_last, train_rows=len(rows), skipped=fitted)
            )
        else:
            model = fitted
            prob[test] = model.predict_proba(frame.values.iloc[test])
            gains.append(model.importance())
            records.append(
                FoldRecord(
                    fold.number,
                    test_first,
                    test_last,
                    train_first=iso(times[rows[0]]),
                    train_last=iso(times[rows[-1]]),
                    train_rows=model.train_rows,
                    calibration_rows=model.calibration_rows,
                    calibration=model.calibrator.method,
                    test_rows=len(test),
                )
            )
        if progress is not None:
            progress(k + 1, len(folds))
    importance = (
        {c: float(np.mean([g.get(c, 0.0) for g in gains])) for c in columns} if gains else {}
    )
    return WalkForward(
        prob=pd.Series(prob, index=times, name="prob_up"),
        folds=records,
        columns=columns,
        importance=importance,
        last_model=model,
    )
