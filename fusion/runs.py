"""Recorded studies: the walk-forward over the store's data, its card written under the data
directory, and the run recorded in the store so it can be shown and repeated.

``fusion backtest`` and ``fusion train`` both come through :func:`run_recorded_study`. A
card's files are named after its content (``reports/BTC-1h-<sha256[:12]>.json``), so running
the same study twice on the same store writes the same bytes to the same files, and the
second run record says which earlier run it reproduced.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.records import StudyRun
from core.times import utcnow
from fusion.data import FusionDataError, iso, utc_timestamp
from fusion.report import card, card_json, write_card
from fusion.store_provider import StoreProvider
from fusion.study import Progress, Study, StudySpec, run_study

if TYPE_CHECKING:
    from core.paths import DataPaths
    from core.settings import FusionSettings, PriceSettings
    from core.store import Store

log = logging.getLogger(__name__)


def reports_dir(paths: DataPaths) -> Path:
    """Where report cards go: ``<data dir>/fusion/reports``."""
    return paths.fusion / "reports"


@dataclass(frozen=True)
class RecordedStudy:
    run: StudyRun
    study: Study
    card: dict[str, Any]
    same_as: StudyRun | None = None  # an earlier run whose card had the very same bytes


def run_recorded_study(
    store: Store,
    asset: str,
    timeframe: str,
    *,
    prices: PriceSettings,
    fusion: FusionSettings,
    reports: Path,
    start: datetime | None = None,
    end: datetime | None = None,
    asof: datetime | None = None,
    provider: StoreProvider | None = None,
    progress: Progress | None = None,
) -> RecordedStudy:
    """Walk-forward, backtest and ablation of one asset and timeframe on the store's data
    (test windows from ``start``, data up to ``end``; everything known at ``asof``), the card
    written as JSON and HTML into ``reports`` (:func:`reports_dir`), and the run recorded.
    Bad input is a :class:`FusionDataError` with one clear line, raised before anything is
    written."""
    provider = provider or StoreProvider.from_settings(store, prices, fusion)
    md = provider.market_data(asset, timeframe, asof=asof)
    _check_range(md.candles.index + md.bar, md.asset, timeframe, start, end)
    spec = StudySpec(test_from=start, test_to=end)
    study = run_study(md, fusion, spec, progress=progress, source=provider.describe(md.asset))
    data = card(study)
    text = card_json(data)
    digest = hashlib.sha256(text.encode()).hexdigest()
    json_path, html_path = write_card(data, reports, stem=f"{md.asset}-{timeframe}-{digest[:12]}")
    manifest = study.manifest
    candles = manifest["data"]["candles"]
    run = store.studies.add_run(
        StudyRun(
            asset=md.asset,
            timeframe=timeframe,
            created_at=utcnow(),
            config={
                "settings": manifest["settings"],
                "study": manifest["study"],
                "source": manifest["data"].get("source"),
            },
            data={k: v for k, v in manifest["data"].items() if k != "source"},
            content_sha256=manifest["data"]["content_sha256"],
            code=manifest["code"],
            seed=manifest["seed"],
            data_first=_time(candles["first"]),
            data_last=_time(candles["last"]),
            chosen=study.chosen,
            gate_passed=study.gate.passed,
            verdict=study.gate.verdict,
            card_sha256=digest,
            card_json=text,
            json_path=str(json_path),
            html_path=str(html_path),
        )
    )
    same = store.studies.same_card(digest, before=run.id or 0)
    log.debug("fusion run %d: %s %s, card %s", run.id, md.asset, timeframe, json_path)
    return RecordedStudy(run=run, study=study, card=data, same_as=same)


def _time(text: str | None) -> datetime | None:
    return None if text is None else utc_timestamp(text).to_pydatetime()


def _check_range(
    closes: pd.DatetimeIndex,
    asset: str,
    timeframe: str,
    start: datetime | None,
    end: datetime | None,
) -> None:
    """A range that holds no bar is one clear line, naming the bars there are."""
    if start is not None and end is not None and utc_timestamp(start) >= utc_timestamp(end):
        raise FusionDataError(f"--from {iso(start)} is not before --to {iso(end)}")
    if closes.empty:
        raise FusionDataError(f"no {timeframe} candles for {asset} closed yet")
    have = f"{timeframe} candles for {asset} close from {iso(closes[0])} to {iso(closes[-1])}"
    if start is not None and utc_timestamp(start) > closes[-1]:
        raise FusionDataError(f"no data from {iso(start)} on: {have}")
    if end is not None and utc_timestamp(end) < closes[0]:
        raise FusionDataError(f"no data up to {iso(end)}: {have}")
