"""A study: walk-forward, backtest and ablation of one asset and timeframe, with every
variant it tried kept for the overfitting check. Its result is the report card.

Order of work:

1. features once (fusion/features), the target per horizon (fusion/target.py);
2. one set of folds for everything (fusion/walkforward.py), purged by the longest horizon
   studied, so every arm and variant is tested on the same windows;
3. per horizon and arm, one walk-forward; per threshold, positions and a backtest after
   costs (no refit: a threshold only changes which predictions are traded);
4. the ablation steps with block-bootstrap intervals (fusion/ablation.py), the regime split
   (fusion/regimes.py), PBO over all variants and the deflated Sharpe ratio of the chosen
   one (fusion/overfit.py), and the promotion gate (fusion/gates.py).

An arm whose data is absent is not run and says why ("no sentiment history"); nothing is
invented to fill it. Each arm reports how much history it stands on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from core.settings import FusionSettings
from fusion import ablation
from fusion.ablation import ARMS, BUY_AND_HOLD, STEPS, Comparison
from fusion.backtest import Backtest, annual_vol, bar_returns, buy_and_hold, positions, run_backtest
from fusion.data import FusionDataError, MarketData, bars_per_year, horizon_bars, iso, utc_timestamp
from fusion.features.base import CustomFeature
from fusion.features.builder import FeatureFrame, build_features
from fusion.gates import GateDecision, promotion_gate
from fusion.metrics import Metrics, performance, sharpe
from fusion.overfit import DSRResult, PBOResult, deflated_sharpe_of, pbo
from fusion.provenance import code_version
from fusion.regimes import label_regimes, regime_table
from fusion.target import direction, forward_return
from fusion.walkforward import WalkForward, plan_folds, run_walkforward

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.0, 0.02, 0.05)
#: Settings of the live service only: they cannot change a study, so the manifest (and with it
#: the card's bytes) leaves them out.
LIVE_ONLY_SETTINGS: frozenset[str] = frozenset({"live_timeframe", "signal_interval_s"})


@dataclass(frozen=True)
class StudySpec:
    """What a study tries beyond the settings. Every combination of arm, horizon and
    threshold is a variant, and all of them count in the overfitting check."""

    horizons: tuple[str, ...] = ()  # default: (settings.horizon,)
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS  # settings.min_edge is always added
    test_from: datetime | None = None
    test_to: datetime | None = None

    def resolved(self, settings: FusionSettings) -> StudySpec:
        horizons = tuple(dict.fromkeys((settings.horizon, *self.horizons)))
        thresholds = tuple(sorted({*self.thresholds, settings.min_edge}))
        return StudySpec(horizons, thresholds, self.test_from, self.test_to)


@dataclass(frozen=True)
class Variant:
    arm: str
    horizon: str
    threshold: float

    @property
    def name(self) -> str:
        return f"{self.arm}|h={self.horizon}|edge={self.threshold:g}"


@dataclass
class ArmResult:
    """One arm's primary variant: the settings' horizon and threshold."""

    arm: str
    status: str  # "ok" or why it was not run
    history: dict[str, Any] = field(default_factory=dict)
    walkforward: WalkForward | None = None
    backtest: Backtest | None = None
    metrics: Metrics = field(default_factory=dict)


@dataclass
class Study:
    """Everything a study computed; :func:`fusion.report.card` turns it into the card."""

    asset: str
    timeframe: str
    settings: FusionSettings
    spec: StudySpec
    manifest: dict[str, Any]
    arms: dict[str, ArmResult]
    comparisons: list[Comparison]
    regimes: list[dict[str, Any]]
    variants: dict[str, Metrics]
    chosen: str
    pbo: PBOResult | None
    pbo_note: str | None
    dsr: DSRResult | None
    gate: GateDecision
    folds: int
    notes: tuple[str, ...]

    @property
    def chosen_arm(self) -> ArmResult:
        return self.arms[self.chosen]


def _history(usable: pd.Series) -> dict[str, Any]:
    """How much history an arm stands on: usable rows (covered and warmed up), first/last."""
    idx = usable.index[usable.to_numpy()]
    return {
        "usable_rows": len(idx),
        "first": iso(idx[0]) if len(idx) else None,
        "last": iso(idx[-1]) if len(idx) else None,
    }


def _missing_reason(frame: FeatureFrame, arm: str) -> str | None:
    groups = ARMS[arm]
    for g, note in (("onchain", "no on-chain history"), ("sentiment", "no sentiment history")):
        if g in groups and not frame.coverage[g].any():
            return note
    return None


def run_study(
    md: MarketData,
    settings: FusionSettings,
    spec: StudySpec | None = None,
    *,
    extra: Sequence[CustomFeature] = (),
    progress: Progress | None = None,
    source: Mapping[str, Any] | None = None,
) -> Study:
    """Run the whole study on ``md``; raises :class:`FusionDataError` with one clear line when
    the data cannot carry it (no bars in range, too few bars for one fold).

    ``progress(what, done, total)`` hears of each finished walk-forward; ``source`` (where
    the data came from, e.g. a provider's ``describe()``) goes into the manifest."""
    spec = (spec or StudySpec()).resolved(settings)
    if spec.test_to is not None:
        md = md.asof_view(spec.test_to)
    if md.candles.empty:
        raise FusionDataError(f"no {md.timeframe} candles for {md.asset} in the range asked for")
    frame = build_features(md, extra)
    bar = md.bar
    bpy = bars_per_year(md.timeframe)
    by_close = md.candles.set_axis(frame.values.index)
    hbars = {h: horizon_bars(md.timeframe, h) for h in spec.horizons}
    price_rows = np.flatnonzero(frame.coverage["price"].to_numpy())
    if not len(price_rows):
        raise FusionDataError(
            f"too few bars for the features to warm up: {len(frame.values)} bars of {md.timeframe}"
        )
    folds = plan_folds(
        frame.values.index,
        bar,
        settings,
        max(hbars.values()),
        first_row=int(price_rows[0]),
        test_from=utc_timestamp(spec.test_from) if spec.test_from else None,
    )
    returns = bar_returns(by_close)
    eval_rows = returns.index[folds[0].test_start :]
    returns = returns.loc[eval_rows]
    if returns.notna().sum() < 2:
        raise FusionDataError("the test range holds fewer than two bars with known returns")
    vol = annual_vol(
        by_close, max(2, round(settings.vol_lookback_days * pd.Timedelta(days=1) / bar)), bpy
    )
    cost = settings.cost_rate

    arms: dict[str, ArmResult] = {}
    bh = buy_and_hold(returns, cost)
    arms[BUY_AND_HOLD] = ArmResult(
        BUY_AND_HOLD,
        "ok",
        history={
            "usable_rows": len(frame.values),
            "first": iso(frame.values.index[0]),
            "last": iso(frame.values.index[-1]),
        },
        backtest=bh,
        metrics=performance(bh.net, bh.position, bpy),
    )
    nets: dict[Variant, pd.Series] = {}
    total = len(ARMS) * len(hbars)
    done = 0
    primary_h = settings.horizon
    fwd_primary = forward_return(by_close, hbars[primary_h])
    up_primary = direction(fwd_primary, settings.dead_zone_bps)
    for h, hb in hbars.items():
        fwd = forward_return(by_close, hb)
        up = direction(fwd, settings.dead_zone_bps)
        for arm, groups in ARMS.items():
            done += 1
            reason = _missing_reason(frame, arm)
            if h == primary_h:
                arms[arm] = ArmResult(arm, reason or "ok", history=_history(frame.usable(groups)))
            if reason is not None:
                continue
            wf = run_walkforward(frame, up, folds, groups, settings, max(hbars.values()))
            if progress is not None:
                progress(f"walk-forward {arm} h={h}", done, total)
            if wf.oos_rows == 0:
                if h == primary_h:
                    arms[arm].status = "no fold had enough usable train rows"
                continue
            prob = wf.prob.loc[eval_rows]
            covered = prob.index[prob.notna().to_numpy()]
            for thr in spec.thresholds:
                pos = positions(prob, vol.loc[eval_rows], settings, min_edge=thr)
                bt = run_backtest(pos.loc[covered[0] :], returns.loc[covered[0] :], cost)
                nets[Variant(arm, h, thr)] = bt.net
                if h == primary_h and thr == settings.min_edge:
                    res = arms[arm]
                    res.walkforward, res.backtest = wf, bt
                    res.metrics = performance(
                        bt.net, bt.position, bpy, fwd=fwd_primary, prob=prob, up=up_primary
                    )
                    res.metrics["oos_rows"] = wf.oos_rows
                    res.metrics["folds_run"] = sum(f.skipped is None for f in wf.folds)
                    res.metrics["folds_skipped"] = sum(f.skipped is not None for f in wf.folds)

    comparisons = _ablation(arms, bpy, settings)
    ran = [a for a in ARMS if arms[a].backtest is not None]
    if not ran:
        raise FusionDataError("no arm could be trained: too few usable rows in every fold")
    chosen = ran[-1]
    runs = {a: arms[a].backtest for a in (BUY_AND_HOLD, *ran) if arms[a].backtest is not None}
    labels = label_regimes(by_close, bar)
    regimes = regime_table(
        {k: v for k, v in runs.items() if v is not None}, labels, bpy, fwd_primary
    )
    variants, pbo_res, pbo_note, dsr = _overfitting(
        nets, Variant(chosen, primary_h, settings.min_edge), bpy, settings
    )
    gate = promotion_gate(arms[chosen].metrics, pbo_res.pbo if pbo_res else None, settings.gate)
    manifest = {
        "asset": md.asset,
        "timeframe": md.timeframe,
        "settings": settings.model_dump(mode="json", exclude=set(LIVE_ONLY_SETTINGS)),
        "study": {
            "horizons": list(spec.horizons),
            "thresholds": list(spec.thresholds),
            "test_from": iso(spec.test_from) if spec.test_from else None,
            "test_to": iso(spec.test_to) if spec.test_to else None,
            "extra_features": [f.name for f in extra],
        },
        "data": {
            **md.span(),
            "content_sha256": md.content_hash(),
            "onchain_lag": str(md.onchain_lag),
            **({"source": dict(source)} if source is not None else {}),
        },
        "code": code_version(),
        "seed": settings.seed,
    }
    return Study(
        asset=md.asset,
        timeframe=md.timeframe,
        settings=settings,
        spec=spec,
        manifest=manifest,
        arms=arms,
        comparisons=comparisons,
        regimes=regimes,
        variants=variants,
        chosen=chosen,
        pbo=pbo_res,
        pbo_note=pbo_note,
        dsr=dsr,
        gate=gate,
        folds=len(folds),
        notes=frame.notes,
    )


def _ablation(arms: dict[str, ArmResult], bpy: float, settings: FusionSettings) -> list[Comparison]:
    out = []
    for k, (arm, base, adds) in enumerate(STEPS):
        a, b = arms.get(arm), arms.get(base)
        if a is None or a.backtest is None:
            why = a.status if a is not None else "not run"
            out.append(ablation.not_run(arm, base, adds, why))
            continue
        if b is None or b.backtest is None:
            out.append(ablation.not_run(arm, base, adds, f"{base}: {b.status if b else 'not run'}"))
            continue
        out.append(
            ablation.compare(
                arm,
                base,
                adds,
                a.backtest.net,
                b.backtest.net,
                bpy,
                reps=settings.bootstrap_reps,
                confidence=settings.confidence,
                seed=settings.seed + k,
            )
        )
    return out


def _overfitting(
    nets: dict[Variant, pd.Series], chosen: Variant, bpy: float, settings: FusionSettings
) -> tuple[dict[str, Metrics], PBOResult | None, str | None, DSRResult | None]:
    """Every variant's Sharpe over the bars all of them cover; PBO and the chosen one's DSR."""
    if not nets:
        return {}, None, "no variant ran", None
    series = list(nets.values())
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    table: dict[str, Metrics] = {}
    for v, s in nets.items():
        r = s.loc[common].to_numpy()
        table[v.name] = {
            "sharpe": sharpe(r, bpy),
            "total_return": float(np.prod(1 + r) - 1) if len(r) else None,
        }
    matrix = np.column_stack([s.loc[common].to_numpy() for s in nets.values()])
    per_bar = np.array(
        [
            (np.mean(c) / np.std(c, ddof=1)) if len(c) > 1 and np.std(c, ddof=1) > 0 else 0.0
            for c in matrix.T
        ]
    )
    dsr = (
        deflated_sharpe_of(nets[chosen].loc[common].to_numpy(), per_bar) if chosen in nets else None
    )
    if len(nets) < 2:
        return table, None, "one variant only: nothing was selected", dsr
    try:
        return table, pbo(matrix, settings.pbo_blocks), None, dsr
    except ValueError as err:
        return table, None, str(err), dsr
