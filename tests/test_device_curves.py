"""Decay curves: the paper's stretched exponential, sampled curves, JSON round trips."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.device import (
    PAPER_CURVE,
    SampledCurve,
    StretchedExponential,
    curve_from_dict,
    load_curve,
    save_curve,
)
from otters.errors import OttersError


def test_paper_curve_parameters_and_normalisation():
    assert (PAPER_CURVE.I0, PAPER_CURVE.tau, PAPER_CURVE.beta, PAPER_CURVE.I_offset) == (110.989, 1.3425, 0.495, -109.989)
    assert PAPER_CURVE(0.0) == pytest.approx(1.0, abs=1e-15)


def test_stable_form_matches_direct_formula():
    t = np.geomspace(1e-10, 1e-3, 50)
    direct = 110.989 * np.exp(-((t / 1.3425) ** 0.495)) - 109.989
    np.testing.assert_allclose(PAPER_CURVE(t), direct, rtol=0, atol=1e-12)


def test_paper_curve_is_decreasing():
    t = np.concatenate([[0.0], np.geomspace(1e-12, 1e-2, 400)])
    assert np.all(np.diff(PAPER_CURVE(t)) < 0)


@settings(max_examples=60)
@given(st.floats(min_value=-50.0, max_value=0.999999))
def test_inverse_round_trip(y):
    t = PAPER_CURVE.inverse(y)
    assert t >= 0
    assert PAPER_CURVE(t) == pytest.approx(y, abs=1e-12)


def test_inverse_refuses_unreachable_levels():
    with pytest.raises(OttersError, match="never reaches"):
        PAPER_CURVE.inverse(1.5)
    with pytest.raises(OttersError, match="never reaches"):
        PAPER_CURVE.inverse(-200.0)


def test_negative_time_is_refused():
    with pytest.raises(OttersError, match="domain"):
        PAPER_CURVE(-1e-6)


@pytest.mark.parametrize("kwargs", [{"tau": 0.0}, {"beta": -1.0}, {"I0": float("nan")}])
def test_bad_parameters(kwargs):
    with pytest.raises(OttersError):
        StretchedExponential(**kwargs)


def _sampled_paper(n=300):
    t = np.concatenate([[0.0], np.geomspace(1e-10, 2e-4, n)])
    return SampledCurve(t, PAPER_CURVE(t))


def test_sampled_curve_interpolates_and_inverts():
    curve = _sampled_paper()
    t = np.geomspace(1e-9, 1.5e-4, 77)
    np.testing.assert_allclose(curve(t), PAPER_CURVE(t), atol=2e-4)
    for y in (0.97, 0.5, 0.0, -0.2):
        assert curve(curve.inverse(y)) == pytest.approx(y, abs=1e-12)
    # Exactly at a sample and at both ends of the domain.
    assert curve.inverse(curve.current[5]) == curve.t[5]
    assert curve.inverse(curve.current[0]) == 0.0


@pytest.mark.parametrize(
    "t, current, message",
    [
        ([0.0, 1.0], [1.0, 1.0], "strictly decreasing"),
        ([0.0, 1.0, 2.0], [1.0, 0.5, 0.7], "strictly decreasing"),
        ([0.0, 1.0, 1.0], [1.0, 0.5, 0.2], "strictly increasing"),
        ([0.5, 1.0], [1.0, 0.5], "start at t = 0"),
        ([0.0, 1.0], [1.0, float("nan")], "non-finite"),
        ([0.0, 1.0, 2.0], [1.0, 0.5], "one current per time"),
    ],
)
def test_sampled_curve_refuses_bad_samples(t, current, message):
    with pytest.raises(OttersError, match=message):
        SampledCurve(t, current)


@pytest.mark.parametrize("curve", [PAPER_CURVE, StretchedExponential(2.0, 3e-5, 0.8, -1.0), _sampled_paper(40)])
def test_json_round_trip(tmp_path, curve):
    path = tmp_path / "c.json"
    save_curve(curve, path, meta={"note": "x"})
    again = load_curve(path)
    assert again == curve
    assert curve_from_dict(curve.to_dict()) == curve


def test_load_curve_errors(tmp_path):
    with pytest.raises(OttersError, match="not found"):
        load_curve(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "spline"}')
    with pytest.raises(OttersError, match="unknown curve kind"):
        load_curve(bad)
    bad.write_text('{"kind": "stretched_exponential", "I0": 1}')
    with pytest.raises(OttersError, match="lacks the key"):
        load_curve(bad)
    bad.write_text("not json")
    with pytest.raises(OttersError, match="not valid JSON"):
        load_curve(bad)


def test_output_range():
    lo, hi = PAPER_CURVE.output_range
    assert hi == 1.0 and lo > -109.989 and math.isclose(lo, -109.989)


def test_sampled_inverse_near_the_last_sample_stays_in_the_domain():
    """Regression: the log-domain root search evaluated exp(log(t_last)), which can round just above
    the last sample, where the interpolant is NaN (found converting at T = 1 on a short recording)."""
    from otters.device import fire_times

    exact = StretchedExponential(30.0, 1.0, 1.0, -29.0)
    zero = float(exact.inverse(0.0))
    t = np.concatenate([[0.0], np.geomspace(zero * 1e-7, 1.3 * zero, 40)])
    curve = SampledCurve(t, exact(t))
    times = fire_times(curve, 1)
    assert times[0] == 0.0 and t[0] < times[1] <= t[-1]
    assert curve(times[1]) == pytest.approx(0.0, abs=1e-9)
    # every level in the last interval, including the very last sample's own output
    for y in np.linspace(curve.current[-2], curve.current[-1], 7):
        found = curve.inverse(y)
        assert t[-2] <= found <= t[-1] and np.isfinite(found)
        assert curve(found) == pytest.approx(y, abs=1e-9)
