"""Plain TTFS encode/decode and the stepped threshold."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.coding import stepped_threshold, threshold_at, ttfs_decode, ttfs_encode
from otters.device import PAPER_CURVE, fire_times
from otters.errors import OttersError

T_VALUES = st.sampled_from([1, 3, 7, 15, 31, 255])


@settings(max_examples=50)
@given(T_VALUES, st.data())
def test_encode_decode_round_trip(T, data):
    levels = np.array(data.draw(st.lists(st.integers(0, T), min_size=1, max_size=40)))
    steps = ttfs_encode(levels, T)
    assert steps.dtype == np.int64
    np.testing.assert_array_equal(steps, T - levels)  # larger values spike earlier
    np.testing.assert_array_equal(ttfs_decode(steps, T), levels)


def test_level_zero_spikes_last_or_stays_silent():
    assert ttfs_encode(np.array([0]), 15)[0] == 15
    np.testing.assert_array_equal(ttfs_decode(np.array([-1, 15, 0]), 15, silent=-1), [0, 0, 15])


def test_torch_in_torch_out():
    levels = torch.tensor([[0, 5], [15, 9]])
    steps = ttfs_encode(levels, 15)
    assert isinstance(steps, torch.Tensor) and steps.dtype == torch.int64
    assert torch.equal(ttfs_decode(steps, 15), levels)
    assert torch.equal(ttfs_decode(torch.tensor([-1, 3]), 15, silent=-1), torch.tensor([0, 12]))
    assert torch.equal(ttfs_encode(torch.tensor([2.0, 3.0]), 3), torch.tensor([1, 0]))


@pytest.mark.parametrize("levels, message", [([16], "\\[0, 15\\]"), ([-1], "\\[0, 15\\]"), ([1.5], "integers")])
def test_encode_refuses_out_of_range(levels, message):
    with pytest.raises(OttersError, match=message):
        ttfs_encode(np.array(levels), 15)


def test_decode_refuses_bad_steps_and_T():
    with pytest.raises(OttersError, match="steps"):
        ttfs_decode(np.array([16]), 15)
    with pytest.raises(OttersError, match="2\\^n - 1"):
        ttfs_encode(np.array([1]), 10)


@settings(max_examples=30)
@given(T_VALUES, st.floats(1e-4, 1e3))
def test_stepped_threshold(T, alpha):
    theta = stepped_threshold(alpha, T)
    assert theta.shape == (T + 1,)
    np.testing.assert_allclose(theta, alpha * (T - np.arange(T + 1)), rtol=1e-15)
    assert theta[-1] == 0.0 and np.all(np.diff(theta) < 0)


def test_threshold_in_physical_time():
    T, alpha = 7, 0.25
    times = fire_times(PAPER_CURVE, T)
    # At each t_k and just before t_(k+1) the threshold is alpha*(T - k).
    theta = stepped_threshold(alpha, T)
    np.testing.assert_array_equal(threshold_at(times, alpha, times), theta)
    np.testing.assert_array_equal(threshold_at(times[1:] * (1 - 1e-9), alpha, times), theta[:-1])
    assert threshold_at(1.0, alpha, times) == 0.0
    with pytest.raises(OttersError):
        threshold_at(-1.0, alpha, times)
