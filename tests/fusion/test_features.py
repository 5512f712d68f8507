"""The feature builder: relative measures, causal alignment of each source, one code path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fusion.data import FrameProvider, FusionDataError, MarketData
from fusion.features import CustomFeature, build_features, feature_row
from fusion.features.price import price_specs
from tests.fusion import synthetic

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)


def test_rows_are_indexed_by_bar_close_time(hourly: MarketData) -> None:
    frame = build_features(hourly)
    assert frame.values.index[0] == hourly.candles.index[0] + HOUR
    assert len(frame.values) == len(hourly.candles)
    assert set(frame.specs) == set(frame.values.columns)


def test_price_features_do_not_change_when_prices_are_rescaled(hourly: MarketData) -> None:
    scaled = hourly.candles.copy()
    scaled[["open", "high", "low", "close"]] *= 1000.0
    a = build_features(MarketData.of("BTC", "1h", hourly.candles)).values
    b = build_features(MarketData.of("BTC", "1h", scaled)).values
    names = [s.name for s in price_specs()]
    pd.testing.assert_frame_equal(a[names], b[names], rtol=1e-7, atol=1e-9)


def test_one_bar_return_at_t_is_the_return_of_the_bar_closing_at_t(hourly: MarketData) -> None:
    frame = build_features(hourly).values
    c = hourly.candles["close"].to_numpy()
    assert frame["ret_1"].iloc[10] == pytest.approx(np.log(c[10] / c[9]))


def test_onchain_day_reaches_features_only_after_day_end_plus_lag() -> None:
    candles = synthetic.candles(24 * 6, "1h")
    onchain = synthetic.onchain(6)
    md = MarketData.of("BTC", "1h", candles, onchain, onchain_lag="6h")
    frame = build_features(md).values
    x = np.log1p(onchain["TxCnt"].to_numpy())
    day2_change = x[2] - x[1]
    published = synthetic.START + 3 * DAY + 6 * HOUR  # day 2 ends at day 3 00:00, plus 6 h
    assert frame.loc[published, "oc_TxCnt_chg1"] == pytest.approx(day2_change)
    assert frame.loc[published - HOUR, "oc_TxCnt_chg1"] == pytest.approx(x[1] - x[0])


def test_onchain_that_stops_is_not_carried_forward_for_ever() -> None:
    md = MarketData.of("BTC", "1h", synthetic.candles(24 * 10), synthetic.onchain(3))
    frame = build_features(md)
    assert frame.values["oc_TxCnt_chg1"].iloc[-1] != frame.values["oc_TxCnt_chg1"].iloc[-1]
    assert not frame.coverage["onchain"].iloc[-1]


def test_sentiment_bucket_reaches_features_when_its_point_is_known() -> None:
    start = synthetic.START
    candles = synthetic.candles(48, "1h")
    sent = synthetic.sentiment(start, start + 48 * HOUR, empty_share=0.0)
    md = MarketData.of("BTC", "1h", candles, sentiment=sent)
    frame = build_features(md).values
    point = sent.loc[(sent["family"] == "all") & (sent["ts"] == start + 5 * HOUR)].iloc[0]
    # the bucket 05:00-06:00 is known at 06:00, the close of the bar that opened at 05:00
    assert frame.loc[start + 6 * HOUR, "sent_mean"] == pytest.approx(point["mean"])
    assert frame.loc[start + 6 * HOUR, "sent_level"] == pytest.approx((point["index"] - 50) / 50)


def test_sentiment_mix_reads_news_against_social_families() -> None:
    start = synthetic.START
    sent = synthetic.sentiment(start, start + 30 * HOUR, empty_share=0.0)
    md = MarketData.of("BTC", "1h", synthetic.candles(30), sentiment=sent)
    row = build_features(md).values.loc[start + 11 * HOUR]
    b = sent.loc[sent["ts"] == start + 10 * HOUR].set_index("family")
    assert row["sent_news_share"] == pytest.approx(b.loc["news", "n_docs"] / b.loc["all", "n_docs"])
    assert row["sent_news_minus_social"] == pytest.approx(
        b.loc["news", "mean"] - b.loc["reddit", "mean"]
    )


def test_an_empty_bucket_has_no_documents_and_keeps_the_last_level() -> None:
    start = synthetic.START
    sent = synthetic.sentiment(start, start + 30 * HOUR, empty_share=0.0)
    sent = sent.loc[sent["ts"] != start + 10 * HOUR]
    md = MarketData.of("BTC", "1h", synthetic.candles(30), sentiment=sent)
    frame = build_features(md).values
    row, prev = frame.loc[start + 11 * HOUR], frame.loc[start + 10 * HOUR]
    assert row["sent_docs"] == 0.0 and np.isnan(row["sent_mean"])
    assert row["sent_level"] == prev["sent_level"]


def test_sentiment_that_stops_is_not_read_as_weeks_of_no_news() -> None:
    start = synthetic.START
    sent = synthetic.sentiment(start, start + 10 * DAY, empty_share=0.0)  # then nothing
    md = MarketData.of("BTC", "1h", synthetic.candles(24 * 20), sentiment=sent)
    frame = build_features(md)
    last_point_known = start + 10 * DAY  # the bucket of hour 239 closes then
    quiet = frame.values.loc[last_point_known + 3 * DAY]
    assert quiet["sent_docs"] == 0.0 and frame.coverage["sentiment"][last_point_known + 3 * DAY]
    stopped = last_point_known + 3 * DAY + HOUR
    assert frame.values.loc[stopped:, "sent_level"].isna().all()
    assert not frame.coverage["sentiment"].loc[stopped:].any()


def test_missing_sources_leave_their_features_empty_and_say_so() -> None:
    frame = build_features(MarketData.of("BTC", "1h", synthetic.candles(400)))
    assert frame.notes == ("no on-chain history", "no sentiment history")
    assert not frame.coverage["onchain"].any() and not frame.coverage["sentiment"].any()
    assert frame.coverage["price"].sum() == 400 - max(s.warmup for s in price_specs())


def test_feature_row_is_the_last_row_of_the_same_builder(hourly_provider: FrameProvider) -> None:
    md = hourly_provider.market_data("BTC", "1h")
    full = build_features(md).values
    t = full.index[900] + pd.Timedelta(minutes=20)  # inside the next bar
    row = feature_row(hourly_provider, "BTC", "1h", t)
    assert row.t == full.index[900]
    pd.testing.assert_series_equal(row.values, full.iloc[900], check_names=False)
    assert row.coverage == {"price": True, "onchain": True, "sentiment": True}


def test_feature_row_before_any_candle_closed_is_one_clear_error(
    hourly_provider: FrameProvider,
) -> None:
    with pytest.raises(FusionDataError, match="no 1h candles for BTC closed by"):
        feature_row(hourly_provider, "BTC", "1h", synthetic.START)


def test_custom_feature_must_keep_the_decision_index(hourly: MarketData) -> None:
    bad = CustomFeature("short", fn=lambda c: c["close"].iloc[:-1])
    with pytest.raises(FusionDataError, match="must return a series on the decision times"):
        build_features(hourly, [bad])
