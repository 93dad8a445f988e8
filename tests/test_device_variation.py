"""Drawn devices: perturbed curves for robustness studies."""

import numpy as np
import pytest

from otters.device import PAPER_CURVE, SampledCurve, StretchedExponential, fire_times, perturb_curve
from otters.errors import OttersError


def test_no_variation_is_the_same_device():
    assert perturb_curve(PAPER_CURVE, rng=0) == PAPER_CURVE


def test_draws_are_reproducible_and_scaled():
    a = perturb_curve(PAPER_CURVE, 0.05, 0.05, 0.05, rng=7)
    b = perturb_curve(PAPER_CURVE, 0.05, 0.05, 0.05, rng=7)
    assert a == b and a != PAPER_CURVE
    draws = [perturb_curve(PAPER_CURVE, rel_tau=0.1, rng=np.random.default_rng(i)).tau / PAPER_CURVE.tau for i in range(300)]
    assert np.std(draws) == pytest.approx(0.1, rel=0.25)
    assert np.mean(draws) == pytest.approx(1.0, abs=0.03)


def test_output_scale_scales_the_whole_curve():
    chip = perturb_curve(PAPER_CURVE, rel_output=0.1, rng=1)
    t = np.geomspace(1e-9, 1e-4, 20)
    ratio = chip(t) / PAPER_CURVE(t)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert isinstance(chip, StretchedExponential)


def test_sampled_curve_time_scale_matches_closed_form():
    t = np.concatenate([[0.0], np.geomspace(1e-10, 3e-4, 400)])
    sampled = SampledCurve(t, PAPER_CURVE(t))
    chip_sampled = perturb_curve(sampled, rel_tau=0.2, rng=4)
    chip_closed = perturb_curve(PAPER_CURVE, rel_tau=0.2, rng=4)
    np.testing.assert_allclose(fire_times(chip_sampled, 15)[1:], fire_times(chip_closed, 15)[1:], rtol=1e-3)


def test_bad_deviation():
    with pytest.raises(OttersError, match="rel_beta"):
        perturb_curve(PAPER_CURVE, rel_beta=-0.1)
    # A huge deviation draws a negative time constant for about half of the seeds: refused, never used.
    refused = 0
    for seed in range(20):
        try:
            assert perturb_curve(PAPER_CURVE, rel_tau=1e6, rng=seed).tau > 0
        except OttersError as exc:
            assert "non-positive" in str(exc)
            refused += 1
    assert 0 < refused < 20
