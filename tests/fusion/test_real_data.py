"""The fusion engine on the real Bitstamp and on-chain files (``CRYPTOSENSE_REAL_DATA``).

Slow: whole walk-forwards. Set ``CRYPTOSENSE_FUSION_CARD_DIR`` to keep the report cards (the
figures docs/fusion.md quotes come from scripts/fusion-real-data.sh, through the store and
with the scored headlines; these runs read the files directly and have no sentiment):

    CRYPTOSENSE_REAL_DATA=../shared/data CRYPTOSENSE_FUSION_CARD_DIR=var/fusion-cards \\
        .venv/bin/pytest -m slow tests/fusion/test_real_data.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from core.settings import FusionSettings
from fusion.data import FrameProvider, MarketData
from fusion.lookahead import PLANTED_LEAK, check_lookahead, check_warmup
from fusion.report import card, card_json, write_card
from fusion.study import run_study
from tests.fusion import market_files as mf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root() -> Path:
    return mf.require_real_data()


def _market(root: Path, name: str) -> MarketData:
    if name == "BTC-1h":
        return MarketData.of("BTC", "1h", mf.btc_hourly(root), mf.onchain(root, "BTC"))
    if name == "BTC-1d":
        return MarketData.of("BTC", "1d", mf.btc_daily(root), mf.onchain(root, "BTC"))
    return MarketData.of("ETH", "1d", mf.eth_daily(root), mf.onchain(root, "ETH"))


def test_reader_repairs_swapped_volumes_and_drops_the_open_candle(root: Path) -> None:
    hourly = mf.btc_hourly(root)
    assert len(hourly) == 37_387
    # after the repair, quote / base volume is a price inside the bar on old rows too
    raw = pd.read_csv(root / "market/ohlcv/bitstamp_btcusd_1h.csv", skiprows=1)
    old = raw.loc[raw["date"] == "2019-01-01 00:00:00"].iloc[0]
    bar = hourly.loc[pd.Timestamp("2019-01-01", tz="UTC")]
    assert bar["volume"] == pytest.approx(old["Volume USD"])  # the labels were swapped there
    daily = mf.btc_daily(root)
    assert daily.index[-1] == pd.Timestamp("2022-08-19", tz="UTC")  # 2022-08-20 was still open
    assert len(mf.eth_daily(root)) == 1437  # 988 all-zero days dropped


def test_lookahead_is_clean_on_real_hourly_data_and_catches_the_leak(root: Path) -> None:
    md = _market(root, "BTC-1h")
    provider = FrameProvider({("BTC", "1h"): md.candles}, {"BTC": md.onchain})
    assert check_lookahead(provider, "BTC", "1h", cuts=10, seed=3).ok
    leak = check_lookahead(provider, "BTC", "1h", cuts=3, seed=4, extra=[PLANTED_LEAK])
    assert leak.offending == ["leak_next_return"]


@pytest.mark.parametrize("name", ["BTC-1h", "BTC-1d", "ETH-1d"])
def test_declared_warmups_hold_on_real_data(root: Path, name: str) -> None:
    md = _market(root, name)
    idx = md.candles.index
    starts = [idx[len(idx) * k // 10].ceil("D") for k in (1, 3, 5, 7)]
    report = check_warmup(md, starts=starts)
    assert report.ok, {n: (report.declared[n], report.needed[n]) for n in report.violations}


@pytest.mark.parametrize("name", ["BTC-1d", "ETH-1d", "BTC-1h"])
def test_walkforward_and_ablation_run_on_real_data(root: Path, name: str) -> None:
    res = run_study(_market(root, name), FusionSettings())
    data = card(res)
    out = os.environ.get("CRYPTOSENSE_FUSION_CARD_DIR")
    if out:
        write_card(data, Path(out))
    arms = data["arms"]
    assert arms["price_onchain_sentiment"]["status"] == "no sentiment history"
    assert data["summary"]["sentiment"] == "sentiment: not compared (no sentiment history)"
    assert arms["price"]["status"] == "ok" and arms["price_onchain"]["status"] == "ok"
    assert arms["price"]["metrics"]["bars"] > 500
    assert data["overfitting"]["pbo"] is not None
    assert data["gate"]["passed"] in (True, False)
    if name == "ETH-1d":  # the smallest: check a rerun is identical to the byte
        assert card_json(card(run_study(_market(root, name), FusionSettings()))) == card_json(data)
