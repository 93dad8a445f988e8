"""Fire times t_k with O(t_k) = (T - k)/T, and their placement on a physical clock."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.device import (
    PAPER_CURVE,
    SampledCurve,
    StretchedExponential,
    check_steps,
    clock,
    coarsest_clock,
    fire_times,
)
from otters.device.schedule import _ticks
from otters.errors import OttersError


@pytest.mark.parametrize("T", [1, 3, 7, 15, 31, 255])
def test_fire_times_hit_the_level_grid(T):
    times = fire_times(PAPER_CURVE, T)
    assert times.shape == (T + 1,)
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(PAPER_CURVE(times), (T - np.arange(T + 1)) / T, rtol=0, atol=1e-12)
    # The last instant is where O reaches 0: the same for every T.
    assert times[-1] == pytest.approx(1.00e-4, rel=1e-3)


def test_paper_values_for_T15():
    times = fire_times(PAPER_CURVE, 15)
    assert times[1] == pytest.approx(4.2e-7, rel=0.01)
    # beta ~ 0.5: the instants are spaced roughly quadratically in k.
    ratio = times[2:] / times[1]
    k = np.arange(2, 16)
    assert np.all(ratio > 0.7 * k**2) and np.all(ratio < 1.3 * k**2)


@pytest.mark.parametrize("T", [0, 2, 10, 16, -1, 3.0, True])
def test_T_must_be_power_of_two_minus_one(T):
    with pytest.raises(OttersError, match="2\\^n - 1"):
        fire_times(PAPER_CURVE, T)


def test_check_steps_returns_bits():
    assert [check_steps(T) for T in (1, 3, 15, 255)] == [1, 2, 4, 8]


def test_sampled_curve_schedule_matches_closed_form():
    t = np.concatenate([[0.0], np.geomspace(1e-10, 2e-4, 400)])
    sampled = SampledCurve(t, PAPER_CURVE(t))
    times = fire_times(sampled, 15)
    np.testing.assert_allclose(sampled(times), (15 - np.arange(16)) / 15, atol=1e-12)
    np.testing.assert_allclose(times[1:], fire_times(PAPER_CURVE, 15)[1:], rtol=1e-3)


def test_curve_that_never_reaches_zero_is_refused():
    shallow = StretchedExponential(I0=0.5, tau=1e-5, beta=0.5, I_offset=0.5)  # decays 1 -> 0.5
    with pytest.raises(OttersError, match="needs"):
        fire_times(shallow, 15)


def test_clock_places_instants_in_distinct_ticks():
    times = fire_times(PAPER_CURVE, 15)
    dt = times[1]
    ticks = clock(times, dt)
    assert ticks.dtype == np.int64
    assert np.all(np.diff(ticks) > 0)
    np.testing.assert_array_equal(ticks, np.floor(times / dt + 1e-9).astype(np.int64))


def test_clock_too_coarse_names_a_period_that_works():
    times = fire_times(PAPER_CURVE, 15)
    with pytest.raises(OttersError, match="too coarse") as info:
        clock(times, 1e-6)
    suggested = float(re.search(r"use dt <= (\S+)$", str(info.value)).group(1))
    assert suggested < 1e-6
    assert np.all(np.diff(clock(times, suggested)) > 0)


@pytest.mark.parametrize("dt", [0.0, -1e-7, float("nan"), float("inf")])
def test_clock_refuses_bad_period(dt):
    with pytest.raises(OttersError, match="dt"):
        clock([0.0, 1.0], dt)


@settings(max_examples=40)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=2, max_size=7, unique=True))
def test_coarsest_clock_is_the_coarsest(points):
    times = np.array(sorted(points), dtype=np.float64) / 37.0
    best = coarsest_clock(times)
    assert np.unique(_ticks(times, best)).size == times.size
    # Brute force: no coarser period on a fine grid separates them.
    for dt in np.linspace(best * 1.0001, best * 5 + 1, 400):
        assert np.unique(_ticks(times, dt)).size < times.size
