"""The classifier: gradient-boosted trees (XGBoost) with calibrated probabilities.

Deterministic by construction: a fixed seed (row and column subsampling are seeded), a fixed
number of threads and the ``hist`` tree method, so the same rows give the same model, bit for
bit. Calibration is fitted on a slice the trees never saw (the walk-forward hands over the
newest part of each train window, purged); a slice too small or of one class leaves the raw
probabilities as they are, and says so.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from core.settings import FusionModelSettings

log = logging.getLogger(__name__)

MIN_CALIBRATION_ROWS = 30
ISOTONIC_MIN_ROWS = 1000
P_FLOOR = 1e-3  # probabilities kept off 0 and 1: a calibrated 1.0 would ask for an all-in bet


def _xgboost() -> Any:
    """Import xgboost, heavy, when a model is first fitted or read.

    Its bundled OpenMP runtime spins idle threads by default; on a shared 2-core machine
    that made a 2-thread fit 10-40x slower than a 1-thread one (0.4 s vs 5.7 s for 200 trees
    on 600 rows, load 4.7). Passive waiting, read once when the runtime loads, removes that;
    a value the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xgboost

    return xgboost


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, P_FLOOR, 1 - P_FLOOR)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """Maps raw probabilities to calibrated ones: ``identity``, ``sigmoid`` or ``isotonic``."""

    method: str = "identity"
    _sigmoid: LogisticRegression | None = None
    _isotonic: IsotonicRegression | None = None

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
        if len(y) < MIN_CALIBRATION_ROWS or len(np.unique(y)) < 2:
            return cls("identity")
        if method == "auto":
            method = "isotonic" if len(y) >= ISOTONIC_MIN_ROWS else "sigmoid"
        if method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(raw, y)
            return cls("isotonic", _isotonic=iso)
        lr = LogisticRegression(C=1e4)
        lr.fit(_logit(raw).reshape(-1, 1), y)
        return cls("sigmoid", _sigmoid=lr)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self._isotonic is not None:
            out = self._isotonic.predict(raw)
        elif self._sigmoid is not None:
            out = self._sigmoid.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
        else:
            out = raw
        return np.clip(np.asarray(out, dtype=np.float64), P_FLOOR, 1 - P_FLOOR)


@dataclass
class FusionModel:
    """P(up) from a feature row. Fit once per walk-forward fold; the live model is one more."""

    columns: list[str]
    settings: FusionModelSettings
    seed: int = 7
    threads: int = 2
    calibrator: Calibrator = field(default_factory=Calibrator)
    booster: object | None = None
    train_rows: int = 0
    calibration_rows: int = 0

    def fit(
        self,
        x_fit: pd.DataFrame,
        y_fit: np.ndarray,
        x_cal: pd.DataFrame | None = None,
        y_cal: np.ndarray | None = None,
    ) -> FusionModel:
        """Trees on ``x_fit``; the calibration on ``x_cal`` (newer rows, purged by the caller)."""
        xgb = _xgboost()
        if len(np.unique(y_fit)) < 2:
            raise ValueError("the training rows hold only one class")
        s = self.settings
        clf = xgb.XGBClassifier(
            n_estimators=s.n_estimators,
            max_depth=s.max_depth,
            learning_rate=s.learning_rate,
            subsample=s.subsample,
            colsample_bytree=s.colsample_bytree,
            min_child_weight=s.min_child_weight,
            tree_method="hist",
            objective="binary:logistic",
            eval_metric="logloss",
            random_state=self.seed,
            n_jobs=self.threads,
            verbosity=0,
        )
        clf.fit(x_fit[self.columns].to_numpy(np.float32), y_fit)
        self.booster = clf
        self.train_rows = len(y_fit)
        if x_cal is not None and y_cal is not None and len(y_cal):
            raw = self._raw(x_cal)
            self.calibrator = Calibrator.fit(raw, y_cal, s.calibration)
            self.calibration_rows = len(y_cal)
        return self

    def _raw(self, x: pd.DataFrame) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("the model has not been fitted")
        proba = self.booster.predict_proba(x[self.columns].to_numpy(np.float32))  # type: ignore[attr-defined]
        return np.asarray(proba[:, 1], dtype=np.float64)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated P(up) for each row of ``x``."""
        return self.calibrator(self._raw(x))

    def importance(self) -> dict[str, float]:
        """Total gain per feature, as shares summing to 1 (features never split on: 0)."""
        if self.booster is None:
            return {}
        gain = self.booster.get_booster().get_score(importance_type="total_gain")  # type: ignore[attr-defined]
        total = sum(gain.values()) or 1.0
        names = {f"f{i}": c for i, c in enumerate(self.columns)}
        out = dict.fromkeys(self.columns, 0.0)
        for k, v in gain.items():
            out[names.get(k, k)] = v / total
        return out

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to each row's raw log-odds (TreeSHAP), plus ``bias``:
        what the live signal shows beside its probability."""
        if self.booster is None:
            raise RuntimeError("the model has not been fitted")
        dm = _xgboost().DMatrix(x[self.columns].to_numpy(np.float32))
        contrib = self.booster.get_booster().predict(dm, pred_contribs=True)  # type: ignore[attr-defined]
        return pd.DataFrame(contrib, index=x.index, columns=[*self.columns, "bias"])
