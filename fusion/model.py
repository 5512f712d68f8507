"""The classifier: gradient-boosted trees (XGBoost) with calibrated probabilities.

Deterministic by construction: a fixed seed (row and column subsampling are seeded), a fixed
number of threads and the ``hist`` tree method, so the same rows give the same model, bit for
bit. Calibration is fitted on a slice the trees never saw (the walk-forward hands over the
newest part of each train window, purged); a slice too small or of one class leaves the raw
probabilities as they are, and says so.

A model is saved as one JSON file (XGBoost's own JSON for the trees, plain numbers for the
calibration: no pickle), and its version is a hash of that file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
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
FORMAT = 1


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


@dataclass(frozen=True)
class Calibrator:
    """Raw probability -> calibrated one. ``sigmoid``: Platt scaling on the raw log-odds,
    ``1 / (1 + exp(-(a * logit + b)))``; ``isotonic``: the fitted step function, linear
    between its thresholds and flat beyond them; ``identity``: unchanged."""

    method: str = "identity"
    a: float = 1.0
    b: float = 0.0
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
        if len(y) < MIN_CALIBRATION_ROWS or len(np.unique(y)) < 2:
            return cls("identity")
        if method == "auto":
            method = "isotonic" if len(y) >= ISOTONIC_MIN_ROWS else "sigmoid"
        if method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            return cls(
                "isotonic",
                xs=tuple(float(v) for v in iso.X_thresholds_),
                ys=tuple(float(v) for v in iso.y_thresholds_),
            )
        lr = LogisticRegression(C=1e4).fit(_logit(raw).reshape(-1, 1), y)
        return cls("sigmoid", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            out = np.interp(raw, self.xs, self.ys)
        elif self.method == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-(self.a * _logit(raw) + self.b)))
        else:
            out = raw
        return np.clip(np.asarray(out, dtype=np.float64), P_FLOOR, 1 - P_FLOOR)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a, "b": self.b, "xs": self.xs, "ys": self.ys}


@dataclass
class FusionModel:
    """P(up) from a feature row. Fit once per walk-forward fold; the live model is one more."""

    columns: list[str]
    settings: FusionModelSettings
    seed: int = 7
    threads: int = 1
    calibrator: Calibrator = field(default_factory=Calibrator)
    booster: Any = None
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
        clf.fit(self._matrix(x_fit), y_fit)
        self.booster = clf.get_booster()
        self.train_rows = len(y_fit)
        if x_cal is not None and y_cal is not None and len(y_cal):
            self.calibrator = Calibrator.fit(self._raw(x_cal), y_cal, s.calibration)
            self.calibration_rows = len(y_cal)
        return self

    def _matrix(self, x: pd.DataFrame) -> np.ndarray:
        return x[self.columns].to_numpy(np.float32)

    def _raw(self, x: pd.DataFrame) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("the model has not been fitted")
        return np.asarray(self.booster.inplace_predict(self._matrix(x)), dtype=np.float64)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated P(up) for each row of ``x``."""
        return self.calibrator(self._raw(x))

    def importance(self) -> dict[str, float]:
        """Total gain per feature, as shares summing to 1 (features never split on: 0)."""
        if self.booster is None:
            return {}
        gain = self.booster.get_score(importance_type="total_gain")
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
        dm = _xgboost().DMatrix(self._matrix(x))
        contrib = self.booster.predict(dm, pred_contribs=True)
        return pd.DataFrame(contrib, index=x.index, columns=[*self.columns, "bias"])

    # --- persistence ----------------------------------------------------------------------

    def to_json(self) -> str:
        if self.booster is None:
            raise RuntimeError("the model has not been fitted")
        trees = bytes(self.booster.save_raw(raw_format="json")).decode()
        doc = {
            "format": FORMAT,
            "columns": self.columns,
            "settings": self.settings.model_dump(mode="json"),
            "seed": self.seed,
            "threads": self.threads,
            "calibrator": self.calibrator.to_dict(),
            "train_rows": self.train_rows,
            "calibration_rows": self.calibration_rows,
            "booster": json.loads(trees),
        }
        return json.dumps(doc, sort_keys=True)

    @property
    def version(self) -> str:
        """A short content hash of the saved model: equal models, equal versions."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)  # never a half-written model
        return path

    @classmethod
    def load(cls, path: Path) -> FusionModel:
        return cls.from_json(path.read_text(encoding="utf-8"), what=str(path))

    @classmethod
    def from_json(cls, text: str, *, what: str = "model") -> FusionModel:
        """The model :meth:`to_json` wrote (a file, or the store's registry entry)."""
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"{what}: not a fusion model of format {FORMAT}")
        booster = _xgboost().Booster()
        booster.load_model(bytearray(json.dumps(doc["booster"]).encode()))
        booster.set_param({"nthread": doc["threads"]})
        cal = doc["calibrator"]
        return cls(
            columns=list(doc["columns"]),
            settings=FusionModelSettings(**doc["settings"]),
            seed=doc["seed"],
            threads=doc["threads"],
            calibrator=Calibrator(
                cal["method"], cal["a"], cal["b"], tuple(cal["xs"]), tuple(cal["ys"])
            ),
            booster=booster,
            train_rows=doc["train_rows"],
            calibration_rows=doc["calibration_rows"],
        )
