"""Training the live model and registering it, promoted only on the evidence of its card.

``fusion train`` runs the walk-forward study on everything known now (recorded like any
``fusion backtest``), fits the live model on the newest train window with the richest arm
the data covers now (:func:`fusion.signal.fit_live_model`), and registers it in the store.
The promotion gate reads the card's figures for that same arm, so the evidence is about the
procedure that made the model; a model whose card fails is registered unpromoted, and its
asset's signal is then "no model" with the gate's reasons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.records import RegisteredModel
from core.times import utcnow
from fusion.ablation import ARMS
from fusion.data import FusionDataError
from fusion.features.base import Group
from fusion.gates import GateDecision, promotion_gate
from fusion.model import FusionModel
from fusion.runs import RecordedStudy, run_recorded_study
from fusion.signal import fit_live_model, live_groups, live_window
from fusion.store_provider import StoreProvider
from fusion.study import Progress, Study

if TYPE_CHECKING:
    from pathlib import Path

    from core.settings import FusionGateSettings, FusionSettings, PriceSettings
    from core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trained:
    entry: RegisteredModel
    arm: str
    recorded: RecordedStudy


def arm_of(groups: tuple[Group, ...] | tuple[str, ...]) -> str:
    """The ablation arm that uses exactly these feature groups."""
    for name, arm_groups in ARMS.items():
        if tuple(arm_groups) == tuple(groups):
            return name
    raise ValueError(f"no ablation arm uses the groups {groups}")


def gate_for(study: Study, arm: str, gate: FusionGateSettings) -> GateDecision:
    """The promotion gate on the card's figures of ``arm`` (and the study's PBO)."""
    res = study.arms.get(arm)
    if res is None or res.backtest is None:
        why = res.status if res is not None else "not run"
        return GateDecision(False, (f"the {arm} arm has no walk-forward card ({why})",))
    return promotion_gate(res.metrics, study.pbo.pbo if study.pbo else None, gate)


def train_and_register(
    store: Store,
    asset: str,
    timeframe: str,
    *,
    prices: PriceSettings,
    fusion: FusionSettings,
    reports: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Trained:
    """Study, fit and register; raises :class:`FusionDataError` (one line) on bad input."""
    now = now or utcnow()
    provider = StoreProvider.from_settings(store, prices, fusion)
    md = provider.market_data(asset, timeframe, asof=now)
    recorded = run_recorded_study(
        store,
        asset,
        timeframe,
        prices=prices,
        fusion=fusion,
        reports=reports,
        asof=now,
        provider=provider,
        progress=progress,
    )
    groups = tuple(live_groups(md))
    arm = arm_of(groups)
    gate = gate_for(recorded.study, arm, fusion.gate)
    model = fit_live_model(md, fusion, groups)
    window = live_window(md, fusion, groups)
    entry = store.studies.register(
        RegisteredModel(
            asset=md.asset,
            timeframe=timeframe,
            horizon=fusion.horizon,
            version=model.version,
            created_at=utcnow(),
            promoted=gate.passed,
            reasons=gate.reasons,
            run_id=recorded.run.id,
            groups=groups,
            train_first=None if window is None else window[0].to_pydatetime(),
            train_last=None if window is None else window[1].to_pydatetime(),
            sentiment_version=provider.sentiment_version,
            model_json=model.to_json(),
        )
    )
    log.info(
        "fusion model %s for %s %s registered (%s)",
        entry.version,
        entry.asset,
        timeframe,
        "promoted" if entry.promoted else "not promoted: " + "; ".join(entry.reasons),
    )
    return Trained(entry=entry, arm=arm, recorded=recorded)


class ModelCache:
    """Registered models read back once per version (the service signals every interval)."""

    def __init__(self) -> None:
        self._models: dict[str, FusionModel] = {}

    def get(self, entry: RegisteredModel) -> FusionModel:
        model = self._models.get(entry.version)
        if model is None:
            try:
                model = FusionModel.from_json(entry.model_json, what=f"model {entry.version}")
            except (ValueError, KeyError) as err:
                raise FusionDataError(
                    f"registered model {entry.version} is unreadable: {err}"
                ) from None
            if len(self._models) >= 8:  # retrained many times in one run: start afresh
                self._models.clear()
            self._models[entry.version] = model
        return model
