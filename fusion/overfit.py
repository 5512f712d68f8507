"""How much of a backtest's result is selection luck.

- :func:`pbo`: the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado and Zhu, 2015). The bars common to every
  variant are cut into S blocks; for every way of choosing S/2 of them as "in sample", the
  variant with the best in-sample Sharpe is ranked among all variants on the other half. PBO
  is the share of splits in which that pick lands at or below the median out of sample
  (logit of its relative rank <= 0). Near 0: the in-sample winner keeps winning; near 1:
  picking the best backtest picks noise.
- :func:`deflated_sharpe`: the deflated Sharpe ratio (Bailey and López de Prado, 2014): the
  probability that the chosen variant's true Sharpe beats the best Sharpe that N trials of
  pure noise would be expected to show, given the sample length and the returns' skewness
  and kurtosis.

Sharpe ratios here are per bar (not annualised), as both papers define them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class PBOResult:
    pbo: float
    splits: int
    blocks: int
    variants: int
    bars: int
    logits: tuple[float, ...]


def _block_sharpes(sums: np.ndarray, sumsq: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe of each variant from summed block statistics (rows: splits)."""
    n = counts[:, None]
    mean = sums / n
    var = (sumsq - sums * sums / n) / np.maximum(n - 1, 1)
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(
            sd > 0, mean / sd, np.where(mean > 0, np.inf, np.where(mean < 0, -np.inf, 0.0))
        )
    return out


def pbo(returns: np.ndarray, blocks: int = 16) -> PBOResult:
    """PBO of the variants whose per-bar returns are the columns of ``returns`` (T x N).

    Bars beyond the largest multiple of ``blocks`` are dropped from the end. Ties in the
    out-of-sample ranking count against the pick (it must beat a variant to rank above it).
    """
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("PBO needs a matrix of at least two variants' returns")
    if blocks < 2 or blocks % 2:
        raise ValueError("blocks must be even and at least 2")
    size = m.shape[0] // blocks
    if size < 2:
        raise ValueError(f"PBO needs at least {2 * blocks} bars for {blocks} blocks")
    m = m[: size * blocks]
    n_var = m.shape[1]
    parts = m.reshape(blocks, size, n_var)
    bsum = parts.sum(axis=1)
    bsq = (parts * parts).sum(axis=1)
    combos = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    mask = np.zeros((len(combos), blocks))
    np.put_along_axis(mask, combos, 1.0, axis=1)
    counts = np.full(len(combos), size * blocks / 2)
    is_sr = _block_sharpes(mask @ bsum, mask @ bsq, counts)
    oos_sr = _block_sharpes((1 - mask) @ bsum, (1 - mask) @ bsq, counts)
    best = np.argmax(is_sr, axis=1)
    picked = oos_sr[np.arange(len(combos)), best]
    rank = 1 + (oos_sr < picked[:, None]).sum(axis=1)  # 1 = worst out of sample
    omega = rank / (n_var + 1)
    logits = np.log(omega / (1 - omega))
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        splits=len(combos),
        blocks=blocks,
        variants=n_var,
        bars=size * blocks,
        logits=tuple(float(x) for x in logits),
    )


@dataclass(frozen=True)
class DSRResult:
    dsr: float
    sharpe: float
    expected_max_sharpe: float
    trials: int
    bars: int
    skew: float
    kurtosis: float


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """The Sharpe the best of ``trials`` zero-skill variants would be expected to show."""
    if trials < 2 or sharpe_variance <= 0:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (trials * math.e))
    return float(math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe(
    sharpe: float, benchmark: float, bars: int, skew: float, kurtosis: float
) -> float:
    """P(true Sharpe > benchmark) for an observed per-bar ``sharpe`` over ``bars`` bars;
    ``kurtosis`` is the plain (not excess) kurtosis, 3 for a normal distribution."""
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if bars < 2 or denom <= 0:
        return float("nan")
    z = (sharpe - benchmark) * math.sqrt(bars - 1) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


def deflated_sharpe(
    sharpe: float,
    bars: int,
    trials: int,
    sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> DSRResult:
    """DSR of a per-bar ``sharpe`` chosen among ``trials`` variants whose per-bar Sharpe
    ratios have variance ``sharpe_variance``."""
    sr0 = expected_max_sharpe(trials, sharpe_variance)
    return DSRResult(
        dsr=probabilistic_sharpe(sharpe, sr0, bars, skew, kurtosis),
        sharpe=sharpe,
        expected_max_sharpe=sr0,
        trials=trials,
        bars=bars,
        skew=skew,
        kurtosis=kurtosis,
    )


def deflated_sharpe_of(chosen: np.ndarray, variant_sharpes: np.ndarray) -> DSRResult:
    """DSR of the per-bar returns ``chosen``, selected among variants with these per-bar
    Sharpe ratios (the chosen one included)."""
    r = np.asarray(chosen, dtype=np.float64)
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    sr = float(np.mean(r)) / sd if sd > 0 else 0.0
    srs = np.asarray(variant_sharpes, dtype=np.float64)
    srs = srs[np.isfinite(srs)]
    var = float(np.var(srs, ddof=1)) if len(srs) > 1 else 0.0
    skew = float(stats.skew(r)) if sd > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if sd > 0 else 3.0
    return deflated_sharpe(sr, len(r), max(len(srs), 1), var, skew, kurt)
