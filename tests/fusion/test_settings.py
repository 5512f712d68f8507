"""The fusion section of the settings tree: defaults, validation naming the key, env nesting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.settings import ConfigError, FusionSettings, load_settings, parse_duration


def test_existing_fields_keep_their_defaults() -> None:
    s = FusionSettings()
    assert (s.horizon, s.fee_bps, s.slippage_bps) == ("1d", 10.0, 5.0)
    assert (s.train_days, s.test_days, s.embargo_days) == (365, 30, 1)
    assert s.cost_rate == pytest.approx(0.0015)
    assert s.horizon_delta == timedelta(days=1) and s.onchain_lag_delta == timedelta(days=1)


def test_durations_read_minutes_hours_days_and_weeks() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration(" 4h ") == timedelta(hours=4)
    assert parse_duration("2w") == timedelta(days=14)
    for bad in ("1y", "0d", "d", "1.5h"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_bad_fusion_settings_name_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOSENSE_FUSION__HORIZON", "tomorrow")
    with pytest.raises(ConfigError, match=r"fusion\.horizon \(env CRYPTOSENSE_FUSION__HORIZON\)"):
        load_settings()


def test_pbo_blocks_must_be_even() -> None:
    with pytest.raises(ValueError, match="must be even"):
        FusionSettings(pbo_blocks=7)


def test_nested_gate_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOSENSE_FUSION__GATE__MIN_SHARPE", "1.5")
    monkeypatch.setenv("CRYPTOSENSE_FUSION__LONG_ONLY", "true")
    s = load_settings().fusion
    assert s.gate.min_sharpe == 1.5 and s.long_only
