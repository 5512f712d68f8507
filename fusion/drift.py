"""Has the world moved away from what the model was trained on?

Per feature, the training window's values against recent ones: the Kolmogorov-Smirnov
statistic (scipy; the statistic is thresholded, not its p-value, which is tiny for any
difference at thousands of rows) and the population stability index over the training
window's deciles. The prediction confidence ``|P(up) - 0.5|`` is compared the same way. When
too many features drift, or the confidence does, the model is stale and a retrain is
recommended; the risk gate holds its signals meanwhile (fusion/gates.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.settings import FusionDriftSettings

PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin counts as this share, so the index stays finite
MIN_ROWS = 20


def psi(reference: np.ndarray, recent: np.ndarray, bins: int = PSI_BINS) -> float | None:
    """Population stability index of ``recent`` against ``reference``'s quantile bins."""
    ref = reference[np.isfinite(reference)]
    new = recent[np.isfinite(recent)]
    if len(ref) < MIN_ROWS or len(new) < MIN_ROWS:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    q = np.bincount(np.searchsorted(edges, new, side="right"), minlength=len(edges) + 1) / len(new)
    p, q = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    ks: float | None
    ks_pvalue: float | None
    psi: float | None
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    features: tuple[FeatureDrift, ...]
    confidence: FeatureDrift | None
    drifted_share: float
    stale: bool
    reason: str | None

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def retrain_recommended(self) -> bool:
        return self.stale


def _one(name: str, ref: np.ndarray, new: np.ndarray, s: FusionDriftSettings) -> FeatureDrift:
    a, b = ref[np.isfinite(ref)], new[np.isfinite(new)]
    if len(a) < MIN_ROWS or len(b) < MIN_ROWS:
        return FeatureDrift(name, None, None, None, False)
    ks = stats.ks_2samp(a, b)
    p = psi(a, b)
    drifted = bool(ks.statistic > s.ks_threshold or (p is not None and p > s.psi_threshold))
    return FeatureDrift(name, float(ks.statistic), float(ks.pvalue), p, drifted)


def drift_report(
    train: pd.DataFrame,
    recent: pd.DataFrame,
    settings: FusionDriftSettings,
    *,
    train_prob: np.ndarray | None = None,
    recent_prob: np.ndarray | None = None,
) -> DriftReport:
    """Compare each column of ``recent`` with the same column of ``train``."""
    cols = [c for c in train.columns if c in recent.columns]
    feats = tuple(
        _one(c, train[c].to_numpy(np.float64), recent[c].to_numpy(np.float64), settings)
        for c in cols
    )
    measured = [f for f in feats if f.ks is not None]
    share = sum(f.drifted for f in measured) / len(measured) if measured else 0.0
    conf = None
    if train_prob is not None and recent_prob is not None:
        conf = _one(
            "confidence",
            np.abs(np.asarray(train_prob, np.float64) - 0.5),
            np.abs(np.asarray(recent_prob, np.float64) - 0.5),
            settings,
        )
    reasons = []
    if measured and share > settings.max_drifted_share:
        names = ", ".join(f.feature for f in measured if f.drifted)
        reasons.append(f"{share:.0%} of features drifted ({names})")
    if conf is not None and conf.drifted:
        reasons.append("prediction confidence drifted")
    return DriftReport(
        features=feats,
        confidence=conf,
        drifted_share=share,
        stale=bool(reasons),
        reason="; ".join(reasons) or None,
    )
