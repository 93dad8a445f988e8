"""Differential-evolution fit of the decay, and its refusals."""

import numpy as np
import pytest

from otters.device import PAPER_CURVE, fit_decay, paper_samples
from otters.errors import OttersError


def test_fit_recovers_the_paper_curve_below_the_noise_level():
    # 200 log-spaced samples over 1e-9..1.2e-4 (O from 0.99 to below 0), sigma = 0.01 * O(0).
    t, noisy, clean = paper_samples(200, noise=0.01, seed=3)
    result = fit_decay(t, noisy, seed=0)
    rms_vs_truth = np.sqrt(np.mean((result.curve(t) - clean) ** 2))
    assert rms_vs_truth < 0.01
    assert result.r2 > 0.99
    assert result.rss == pytest.approx(np.sum((result.curve(t) - noisy) ** 2))
    assert set(result.params) == {"I0", "tau", "beta", "I_offset"}
    # beta and O(0) are well determined even though I0/I_offset are not.
    assert result.params["beta"] == pytest.approx(0.495, rel=0.05)
    assert result.curve.O0 == pytest.approx(1.0, abs=0.02)
    # The fitted schedule is close to the paper's.
    from otters.device import fire_times

    np.testing.assert_allclose(fire_times(result.curve, 15)[2:], fire_times(PAPER_CURVE, 15)[2:], rtol=0.05)


def test_noise_free_fit_is_near_exact():
    t, _, clean = paper_samples(60, noise=0.0)
    result = fit_decay(t, clean)
    assert result.rmse < 1e-6
    assert result.r2 > 1 - 1e-9


def test_fit_refuses_nan():
    t, y, _ = paper_samples(50)
    y[7] = np.nan
    with pytest.raises(OttersError, match="non-finite"):
        fit_decay(t, y)


def test_fit_refuses_too_few_points():
    t, y, _ = paper_samples(5)
    with pytest.raises(OttersError, match="at least"):
        fit_decay(t, y)


def test_fit_refuses_rising_data():
    t = np.linspace(0.0, 1.0, 30)
    with pytest.raises(OttersError, match="do not decay"):
        fit_decay(t, 0.2 + t)


def test_fit_refuses_constant_data_and_negative_time():
    with pytest.raises(OttersError, match="do not vary"):
        fit_decay(np.linspace(0, 1, 20), np.ones(20))
    with pytest.raises(OttersError, match=">= 0"):
        fit_decay(np.linspace(-1, 1, 20), -np.linspace(-1, 1, 20))
