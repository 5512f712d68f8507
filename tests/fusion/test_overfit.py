"""PBO (combinatorially symmetric cross-validation) and the deflated Sharpe ratio against
hand-worked and published examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusion.overfit import deflated_sharpe, deflated_sharpe_of, expected_max_sharpe, pbo


def _blocks(*rows: tuple[float, ...], size: int = 4) -> np.ndarray:
    """Per-bar returns where each block of ``size`` bars has the given mean per variant and a
    small alternating wobble (so every block has a spread)."""
    wobble = np.array([0.001, -0.001] * (size // 2))
    return np.vstack([np.column_stack([m + wobble for m in row]) for row in rows])


def test_a_variant_that_wins_everywhere_has_pbo_zero() -> None:
    m = _blocks((0.01, 0.0), (0.01, 0.0), (0.01, 0.0), (0.01, 0.0))
    res = pbo(m, blocks=4)
    assert res.pbo == 0.0 and res.splits == 6
    # the pick ranks 2 of 2: omega = 2/3, logit = ln 2
    assert res.logits == pytest.approx((math.log(2),) * 6)


def test_in_sample_winners_that_always_lose_out_of_sample_give_pbo_one() -> None:
    m = _blocks((0.01, 0.0), (0.0, 0.01), size=4)
    res = pbo(m, blocks=2)
    assert res.pbo == 1.0 and res.splits == 2
    assert res.logits == pytest.approx((math.log(0.5),) * 2)


def test_hand_worked_four_block_example() -> None:
    # Variant A earns 0.02 a bar in blocks 1-2 and 0 in 3-4, B the mirror, C 0.005 always;
    # each bar wobbles by +-0.001. Per-bar Sharpe over two blocks: a variant at one level in
    # both has sd = 0.001 * sqrt(8/7), so A over {1,2} has 18.7, C 4.7; A or B over one good
    # and one bad block has mean 0.01 and sd 0.0107: 0.94.
    # - IS {1,2}: A is picked; OOS {3,4}: B 18.7 > C 4.7 > A 0: rank 1 of 3, omega 1/4,
    #   logit ln(1/3). IS {3,4}: the mirror, the same.
    # - the four mixed splits: C (4.7) beats A and B (0.94) in sample and out of sample:
    #   rank 3 of 3, omega 3/4, logit ln 3.
    # PBO = 2/6.
    m = _blocks((0.02, 0.0, 0.005), (0.02, 0.0, 0.005), (0.0, 0.02, 0.005), (0.0, 0.02, 0.005))
    res = pbo(m, blocks=4)
    assert res.splits == 6
    assert sorted(res.logits) == pytest.approx([math.log(1 / 3)] * 2 + [math.log(3)] * 4)
    assert res.pbo == pytest.approx(2 / 6)


def test_pbo_of_pure_noise_is_near_one_half() -> None:
    rng = np.random.default_rng(0)
    res = pbo(rng.standard_normal((1600, 20)) * 0.01, blocks=10)
    assert 0.3 < res.pbo < 0.7


def test_pbo_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="at least two variants"):
        pbo(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="even"):
        pbo(np.zeros((100, 3)), blocks=5)


def test_deflated_sharpe_matches_the_published_example() -> None:
    # Bailey and López de Prado (2014), numerical example: 100 trials whose annualised
    # Sharpe ratios vary with variance 1/2, the best at 2.5 annualised over 1,250 daily
    # returns (250 a year) with skewness -3 and kurtosis 10: SR0 = 0.1132, DSR = 0.9004.
    res = deflated_sharpe(2.5 / math.sqrt(250), 1250, 100, 0.5 / 250, skew=-3.0, kurtosis=10.0)
    assert res.expected_max_sharpe == pytest.approx(0.1132, abs=5e-5)
    assert res.dsr == pytest.approx(0.9004, abs=5e-5)


def test_one_trial_is_not_deflated() -> None:
    assert expected_max_sharpe(1, 0.5) == 0.0
    res = deflated_sharpe(0.0, 500, 1, 0.0)
    assert res.dsr == pytest.approx(0.5)


def test_more_trials_deflate_more() -> None:
    a = deflated_sharpe(0.05, 1000, 2, 0.001).dsr
    b = deflated_sharpe(0.05, 1000, 200, 0.001).dsr
    assert b < a


def test_deflated_sharpe_from_returns_uses_their_moments() -> None:
    rng = np.random.default_rng(3)
    r = 0.001 + 0.01 * rng.standard_normal(2000)
    res = deflated_sharpe_of(r, np.array([0.1, 0.05, -0.02]))
    assert res.bars == 2000 and res.trials == 3
    assert res.sharpe == pytest.approx(r.mean() / r.std(ddof=1))
    assert abs(res.kurtosis - 3.0) < 0.5
