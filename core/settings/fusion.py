"""Settings of the fusion engine (fusion/): the model, its promotion gate, the risk gate and
drift checks, nested under ``fusion``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from core.settings.base import Section

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|w)\s*$")
_DURATION_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``1d``, ``2w`` as a timedelta (the spelling of timeframes and horizons)."""
    m = _DURATION.match(text)
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h, 1d or 1w")
    return timedelta(seconds=int(m.group(1)) * _DURATION_UNIT[m.group(2)])


class FusionModelSettings(Section):
    """The gradient-boosted classifier and its calibration (fusion/model.py)."""

    n_estimators: int = Field(default=200, ge=10, le=5000, description="boosting rounds")
    max_depth: int = Field(default=3, ge=1, le=12)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    subsample: float = Field(
        default=0.8, gt=0, le=1, description="rows per tree (seeded, so still deterministic)"
    )
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    min_child_weight: float = Field(default=5.0, ge=0)
    calibration: Literal["auto", "sigmoid", "isotonic"] = Field(
        default="auto",
        description="how raw probabilities are calibrated on the purged slice at the end of "
        "each train window; auto: isotonic when that slice holds at least 1,000 rows, else "
        "sigmoid (isotonic overfits small slices)",
    )
    calibration_fraction: float = Field(
        default=0.2, ge=0.05, le=0.5, description="share of the train window kept for calibration"
    )


class FusionGateSettings(Section):
    """Promotion gate: the walk-forward card a model must pass to produce live signals."""

    min_sharpe: float = Field(
        default=0.5, description="out-of-sample annualised Sharpe after costs, at least"
    )
    min_hit_rate: float = Field(default=0.5, ge=0, le=1)
    max_calibration_error: float = Field(
        default=0.1, gt=0, le=1, description="expected calibration error (10 bins), at most"
    )
    max_pbo: float = Field(
        default=0.5, ge=0, le=1, description="probability of backtest overfitting, at most"
    )
    min_oos_bars: int = Field(
        default=500, ge=1, description="out-of-sample bars the card must rest on"
    )


class FusionRiskSettings(Section):
    """Risk gate, applied after the model: any rule that fires turns a signal into hold."""

    max_data_age_bars: int = Field(
        default=2, ge=1, description="newest candle older than this many bars: stale data"
    )
    max_vol_z: float = Field(
        default=4.0,
        gt=0,
        description="current realised volatility this many standard deviations above its "
        "trailing mean: extreme volatility",
    )
    daily_drawdown_limit: float = Field(
        default=0.05, gt=0, le=1, description="loss over the last 24 hours that stops trading"
    )
    sentiment_shock_sigma: float = Field(
        default=4.0, gt=0, description="|sentiment z-score| beyond this: a sentiment shock"
    )


class FusionDriftSettings(Section):
    """Distribution shift between the training window and recent data (fusion/drift.py)."""

    psi_threshold: float = Field(
        default=0.25, gt=0, description="population stability index above which a feature drifted"
    )
    ks_threshold: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Kolmogorov-Smirnov statistic above which a feature drifted (the statistic, "
        "not its p-value: with thousands of rows every p-value is tiny)",
    )
    max_drifted_share: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="share of features that may drift before the model is marked stale",
    )
    recent_days: int = Field(default=30, ge=1, description="what 'recent data' means")


class FusionSettings(Section):
    """The fusion engine: features, target, walk-forward, backtest, gates (docs/fusion.md)."""

    horizon: str = Field(
        default="1d",
        description="how far ahead the target looks (30m, 4h, 1d, 1w): a whole number of bars of "
        "the timeframe; also the purge between train and test",
    )
    fee_bps: float = Field(default=10.0, ge=0, description="fee on traded notional, per side")
    slippage_bps: float = Field(default=5.0, ge=0, description="slippage on traded notional")
    train_days: int = Field(default=365, ge=30, description="length of each train window")
    test_days: int = Field(
        default=30,
        ge=1,
        description="length of each test window, which is also how often the model is retrained",
    )
    embargo_days: int = Field(
        default=1, ge=0, description="gap between train and test on top of the horizon's purge"
    )
    window: Literal["rolling", "expanding"] = Field(
        default="rolling", description="rolling: train_days back from each test; expanding: all"
    )
    onchain_lag: str = Field(
        default="1d",
        description="how long after a day ends its on-chain values are known (publication lag)",
    )
    dead_zone_bps: float = Field(
        default=30.0,
        ge=0,
        le=5000,
        description="forward moves smaller than this are 'flat': not a target to learn "
        "(default: about a round trip of fees and slippage)",
    )
    min_train_rows: int = Field(
        default=200, ge=20, description="fewer usable rows in a train window: the fold is skipped"
    )
    seed: int = Field(default=7, ge=0, description="one seed for the model and the bootstrap")
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="model threads, fixed so runs repeat to the digit; 1 measured fastest on a "
        "shared 2-core machine (2 threads ran 3-8x slower under load)",
    )
    kelly_fraction: float = Field(
        default=0.5, gt=0, le=1, description="share of the Kelly bet taken (position sizing)"
    )
    max_position: float = Field(
        default=1.0, gt=0, le=5, description="cap on |position| as a multiple of equity"
    )
    min_edge: float = Field(
        default=0.0,
        ge=0,
        lt=0.5,
        description="|P(up) - 0.5| below this: no position",
    )
    vol_target: float | None = Field(
        default=0.6,
        gt=0,
        description="annualised volatility the position is scaled down to (never up); unset: off",
    )
    vol_lookback_days: int = Field(
        default=30, ge=2, description="window of the realised volatility used for sizing"
    )
    long_only: bool = False
    bootstrap_reps: int = Field(default=1000, ge=100, le=100_000)
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="level of the bootstrap intervals"
    )
    lookahead_cuts: int = Field(
        default=20, ge=1, le=1000, description="random cut points the look-ahead guard checks"
    )
    pbo_blocks: int = Field(
        default=16,
        ge=4,
        le=24,
        description="blocks of the combinatorially symmetric cross-validation (even)",
    )
    live_timeframe: str = Field(
        default="1d",
        description="bars of the live signal (cryptosense run, fusion signal/train defaults)",
    )
    signal_interval_s: float = Field(
        default=900.0, gt=0, description="how often cryptosense run makes the live signals"
    )
    model: FusionModelSettings = FusionModelSettings()
    gate: FusionGateSettings = FusionGateSettings()
    risk: FusionRiskSettings = FusionRiskSettings()
    drift: FusionDriftSettings = FusionDriftSettings()

    @field_validator("horizon", "onchain_lag", "live_timeframe")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v.strip()

    @field_validator("pbo_blocks")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (half the blocks are in-sample)")
        return v

    @property
    def horizon_delta(self) -> timedelta:
        return parse_duration(self.horizon)

    @property
    def onchain_lag_delta(self) -> timedelta:
        return parse_duration(self.onchain_lag)

    @property
    def cost_rate(self) -> float:
        """Fees plus slippage as a fraction of traded notional."""
        return (self.fee_bps + self.slippage_bps) / 10_000.0
