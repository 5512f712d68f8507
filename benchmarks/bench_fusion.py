"""Fusion benchmark: a walk-forward over four years of hourly BTC, retrained monthly, timed end
to end with the split between feature building, fitting and backtesting, as one JSON object.

    .venv/bin/python benchmarks/bench_fusion.py                       # real data if found
    .venv/bin/python benchmarks/bench_fusion.py --data ../shared/data --years 4

Data: the newest ``--years`` of Bitstamp's hourly BTC/USD export and the BTC daily on-chain
file from ``--data`` (or ``CRYPTOSENSE_REAL_DATA``), read the way the service reads them: the
project's importers (``cryptosense import prices|onchain``: swapped volume columns repaired,
the still-open candle dropped) into a SQLite store in a temporary folder, then
:class:`fusion.store_provider.StoreProvider`. Without the files, a seeded random walk of the
same length goes through the same store (said so in the output). The arm timed is price +
on-chain, the fusion settings' defaults (365-day rolling train window, 30-day test windows =
monthly retraining, horizon 1 day = 24 bars, 200 trees of depth 3), ``--threads`` model
threads.

End to end = features + target + folds + walk-forward (fit and predict per fold) + positions,
backtest and metrics; importing the files and reading them back from the store are timed
apart. Two baselines, measured in the
same run:

- features: the naive live-style path, rebuilding the features from all history up to T for
  each decision time T (:func:`fusion.features.feature_row`), timed on a sample of rows and
  projected to every row; the ratio is projected naive time / one vectorised build. The
  sample's rows must equal the vectorised frame's: the benchmark checks it.
- fitting: a standardised logistic regression fitted on the very same fold rows; the ratio
  is XGBoost fit time per fold / logistic regression's.

The machine's load average and CPU count are printed beside the figures: on a shared machine
the neighbours show in the times.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collectors.importers.onchain_csv import import_onchain_csv  # noqa: E402
from collectors.importers.prices_csv import import_price_csv  # noqa: E402
from core.records import Candle  # noqa: E402
from core.settings import FusionSettings  # noqa: E402
from core.store import Store  # noqa: E402
from fusion.backtest import annual_vol, bar_returns, positions, run_backtest  # noqa: E402
from fusion.data import FrameProvider, MarketData, bars_per_year, horizon_bars  # noqa: E402
from fusion.features import build_features, feature_row  # noqa: E402
from fusion.metrics import performance  # noqa: E402
from fusion.store_provider import StoreProvider  # noqa: E402
from fusion.target import direction, forward_return  # noqa: E402
from fusion.walkforward import plan_folds, run_walkforward, window_bars  # noqa: E402

log = logging.getLogger("bench_fusion")

TARGET_S = 60.0
GROUPS = ("price", "onchain")
PRICES = "market/ohlcv/bitstamp_btcusd_1h.csv"
ONCHAIN = "market/onchain/btc_daily_2016_2022.csv"


def random_walk(store: Store, n: int, seed: int = 7) -> None:
    """Hourly candles of a seeded random walk ending now-ish, into ``store`` (no real data)."""
    rng = np.random.default_rng(seed)
    close = 10_000.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    open_ = np.concatenate([[10_000.0], close[:-1]])
    spread = np.abs(rng.standard_normal(n)) * 0.005 * close
    volume = rng.lognormal(3.0, 0.5, n)
    times = pd.date_range("2018-08-21", periods=n, freq="h", tz="UTC")
    store.market.add_candles(
        [
            Candle(
                exchange="bitstamp",
                pair="BTC/USD",
                timeframe="1h",
                ts=t.to_pydatetime(),
                open=float(o),
                high=float(max(o, c) + sp),
                low=float(min(o, c) - sp),
                close=float(c),
                volume_base=float(v),
                ingested_at=(t + pd.Timedelta(hours=1)).to_pydatetime(),
            )
            for t, o, c, sp, v in zip(times, open_, close, spread, volume, strict=True)
        ]
    )


def load(data: Path | None, years: float, folder: Path) -> tuple[MarketData, dict[str, Any]]:
    """The newest ``years`` of hourly BTC through the importers, the store and its provider."""
    store = Store.open(f"sqlite:///{folder / 'cryptosense.db'}")
    try:
        began = time.perf_counter()
        if data is not None and (data / PRICES).is_file() and (data / ONCHAIN).is_file():
            prices = import_price_csv(
                data / PRICES, store, exchange="bitstamp", pair="BTC/USD", timeframe="1h"
            ).as_dict()
            onchain = import_onchain_csv(data / ONCHAIN, store, asset="BTC").as_dict()
            source = (
                f"{PRICES} + {ONCHAIN} through the project's importers "
                f"({prices.get('stored')} candles, {onchain.get('stored')} on-chain values)"
            )
        else:
            random_walk(store, int(years * 8760))
            source = "synthetic random walk through the store (real data not found)"
        t_import = time.perf_counter() - began
        began = time.perf_counter()
        provider = StoreProvider(store, exchange="bitstamp", pairs={"BTC": "BTC/USD"})
        md = provider.market_data("BTC", "1h")
        t_read = time.perf_counter() - began
    finally:
        store.close()
    start = md.candles.index[-1] - pd.Timedelta(days=365 * years)
    md = replace(md, candles=md.candles.loc[md.candles.index > start])  # on-chain: all of it
    return md, {"data": source, "import_s": round(t_import, 2), "store_read_s": round(t_read, 2)}


def fit_baseline(frame_values: pd.DataFrame, label: pd.Series, rows: np.ndarray) -> float:
    """Seconds to fit a standardised logistic regression on ``rows`` (NaN as 0 after scaling)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame_values.iloc[rows].to_numpy(np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    mu = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mu, x)
    x = np.nan_to_num(x)
    y = label.to_numpy()[rows].astype(int)
    began = time.perf_counter()
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    return time.perf_counter() - began


def run(md: MarketData, settings: FusionSettings, sample: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    frame = build_features(md)
    t_features = time.perf_counter() - t0

    t1 = time.perf_counter()
    h = horizon_bars(md.timeframe, settings.horizon)
    by_close = md.candles.set_axis(frame.values.index)
    fwd = forward_return(by_close, h)
    up = direction(fwd, settings.dead_zone_bps)
    first = int(np.flatnonzero(frame.coverage["price"].to_numpy())[0])
    folds = plan_folds(frame.values.index, md.bar, settings, h, first_row=first)
    t_target = time.perf_counter() - t1

    t2 = time.perf_counter()
    wf = run_walkforward(frame, up, folds, GROUPS, settings, h)
    t_fit = time.perf_counter() - t2

    t3 = time.perf_counter()
    bpy = bars_per_year(md.timeframe)
    returns = bar_returns(by_close).iloc[folds[0].test_start :]
    lookback = round(settings.vol_lookback_days * pd.Timedelta(days=1) / md.bar)
    vol = annual_vol(by_close, lookback, bpy).loc[returns.index]
    prob = wf.prob.loc[returns.index]
    bt = run_backtest(positions(prob, vol, settings), returns, settings.cost_rate)
    metrics = performance(bt.net, bt.position, bpy, fwd=fwd, prob=prob, up=up)
    t_backtest = time.perf_counter() - t3
    total = t_features + t_target + t_fit + t_backtest

    # Baseline 1: the live path, one full rebuild per decision time, on a sample.
    provider = FrameProvider({("BTC", "1h"): md.candles}, {"BTC": md.onchain})
    rng = np.random.default_rng(0)
    picks = np.sort(rng.choice(np.arange(first, len(frame.values)), size=sample, replace=False))
    t4 = time.perf_counter()
    agree = 0
    for i in picks:
        t = frame.values.index[i]
        row = feature_row(provider, "BTC", "1h", t.to_pydatetime())
        a, b = row.values.to_numpy(), frame.values.iloc[i].to_numpy()
        agree += bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    per_row = (time.perf_counter() - t4) / sample
    naive_projected = per_row * len(frame.values)

    # Baseline 2: logistic regression on the same fold rows.
    train_bars, _, _ = window_bars(md.bar, settings)
    usable = frame.usable(list(GROUPS)).to_numpy() & up.notna().to_numpy()
    lr_times = []
    for f in folds[:: max(1, len(folds) // 8)]:
        pos = np.arange(f.train_start, f.train_end)
        lr_times.append(fit_baseline(frame.values[wf.columns], up, pos[usable[pos]]))
    fitted = [f for f in wf.folds if f.skipped is None]
    xgb_per_fold = t_fit / max(1, len(fitted))
    lr_per_fold = float(np.mean(lr_times))

    return {
        "bars": len(frame.values),
        "first": str(frame.values.index[0]),
        "last": str(frame.values.index[-1]),
        "features": frame.values.shape[1],
        "folds": len(folds),
        "folds_fitted": len(fitted),
        "train_bars": train_bars,
        "oos_bars": int(bt.net.shape[0]),
        "seconds": {
            "end_to_end": round(total, 2),
            "features": round(t_features, 3),
            "target_and_folds": round(t_target, 3),
            "fitting_walk_forward": round(t_fit, 2),
            "backtest_and_metrics": round(t_backtest, 3),
        },
        "share": {
            "features": round(t_features / total, 4),
            "fitting": round(t_fit / total, 4),
            "backtest": round(t_backtest / total, 4),
        },
        "target_s": TARGET_S,
        "target_met": total < TARGET_S,
        "baseline_features": {
            "what": "feature_row per decision time (full rebuild from history up to T)",
            "sample_rows": sample,
            "rows_equal_to_vectorised": agree,
            "seconds_per_row": round(per_row, 4),
            "projected_all_rows_s": round(naive_projected, 1),
            "ratio_naive_over_vectorised": round(naive_projected / t_features, 1),
        },
        "baseline_fitting": {
            "what": "standardised logistic regression on the same fold rows",
            "xgboost_s_per_fold": round(xgb_per_fold, 3),
            "logistic_s_per_fold": round(lr_per_fold, 3),
            "ratio_xgboost_over_logistic": round(xgb_per_fold / lr_per_fold, 1),
        },
        "oos_metrics": {k: metrics[k] for k in ("sharpe", "hit_rate", "ic", "turnover")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get("CRYPTOSENSE_REAL_DATA")
    parser.add_argument(
        "--data", type=Path, default=Path(env) if env else ROOT.parent / "shared/data"
    )
    parser.add_argument("--years", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=1, help="model threads (fusion.threads)")
    parser.add_argument("--sample", type=int, default=40, help="rows for the naive baseline")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="bench-fusion-") as folder:
        md, loaded = load(args.data, args.years, Path(folder))
    report |= loaded
    settings = FusionSettings(threads=args.threads)
    report["settings"] = {
        k: settings.model_dump()[k]
        for k in ("horizon", "train_days", "test_days", "embargo_days", "threads", "window")
    } | {"n_estimators": settings.model.n_estimators, "max_depth": settings.model.max_depth}
    log.info("walk-forward over %d bars (%s)", len(md.candles), loaded["data"])
    report |= run(md, settings, args.sample)
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    sys.stdout.write(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
