"""M-TTFS coding and populations: round trips, thresholds against the closed form, TTFS as a special case."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.coding.mttfs import (
    dead_zone_map,
    most_frequent_level,
    mttfs_decode,
    mttfs_encode,
    mttfs_thresholds,
    silent_fraction,
)
from otters.errors import OttersError
from otters.quant import LSQQuantizer
from otters.quant.deadzone import DeadZoneQuantizer
from otters.snn.neuron import masked_population, population_from_quantizer


@settings(max_examples=60)
@given(bits=st.integers(1, 8), data=st.data())
def test_encode_decode_round_trip_and_one_spike_time_per_level(bits, data):
    T = 2**bits - 1
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    m = data.draw(st.integers(qmin, qmax))
    levels = np.arange(qmin, qmax + 1)
    steps, polarity = mttfs_encode(levels, m, T)
    assert np.array_equal(mttfs_decode(steps, polarity, m, T), levels)
    assert np.all((steps >= 0) & (steps <= T))
    assert np.array_equal(steps == T, levels == m)  # only the silent level has no spike
    assert np.array_equal(polarity, np.sign(levels - m))
    # same deviation in either direction -> same spike time: the device reads |q - m| R
    assert np.array_equal(steps, T - np.abs(levels - m))


def test_encode_works_on_torch_and_matches_numpy():
    levels = torch.tensor([[-3, 0, 2], [1, 1, -1]])
    silent = torch.tensor([0, 1, -1])
    s_t, p_t = mttfs_encode(levels, silent, 7, dead_zone=1)
    s_n, p_n = mttfs_encode(levels.numpy(), silent.numpy(), 7, dead_zone=1)
    assert np.array_equal(s_t.numpy(), s_n) and np.array_equal(p_t.numpy(), p_n)
    assert s_t.tolist() == [[4, 7, 4], [7, 7, 7]]  # |d| <= 1 silent, else k = T - |d|


def test_dead_zone_map_definition():
    q = np.arange(-8, 8)
    out = dead_zone_map(q, 0, 3)
    assert np.array_equal(out, np.where(np.abs(q) <= 3, 0, q))
    assert dead_zone_map(q, 2, 0) is q  # k = 0: plain M-TTFS, nothing changes
    with pytest.raises(OttersError, match="dead zone"):
        dead_zone_map(q, 0, -1)


def test_encode_refuses_levels_farther_than_T():
    with pytest.raises(OttersError, match="T = 3"):
        mttfs_encode(np.array([5]), 0, 3)


@settings(max_examples=60)
@given(bits=st.integers(2, 6), signed=st.booleans(), dead_zone=st.integers(0, 4), data=st.data())
def test_stepped_thresholds_fire_exactly_the_closed_form(bits, signed, dead_zone, data):
    """Scanning k = 0..T-1 with y >= theta+_k / y < theta-_k gives the first crossing = dead-zone level - m."""
    T = 2**bits - 1
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, T)
    m = data.draw(st.integers(qmin, qmax))
    pos, neg = mttfs_thresholds(m, T, qmin, qmax, dead_zone)
    # y values around every level and every half, including exact integers and beyond the range
    ys = np.concatenate([np.arange(qmin - 3, qmax + 4, 0.25), [qmin - 1e-6, qmax + 1e-6]])
    for y in ys:
        q = int(min(max(np.floor(y), qmin), qmax))
        q = m if abs(q - m) <= dead_zone else q
        fired = [(k, +1) for k in range(T) if y >= pos[k]] + [(k, -1) for k in range(T) if y < neg[k]]
        first = min(fired) if fired else None
        if q == m:
            assert first is None
        else:
            assert first == (T - abs(q - m), int(np.sign(q - m)))


def test_silent_at_qmin_is_plain_ttfs():
    """M-TTFS with m = qmin is the offset code of plain TTFS: same steps, positive only."""
    x = torch.randn(200) * 3
    for bits, signed in ((4, True), (3, False), (8, True), (1, False)):
        q = LSQQuantizer(bits, signed)
        q.initialize_from(x)
        plain, masked = population_from_quantizer(q, "q"), masked_population(q, "q")
        v = torch.randn(500) * 4
        steps, polarity = masked.fire(v)
        assert torch.equal(steps, plain.fire(v))
        assert bool((polarity >= 0).all())


@pytest.mark.parametrize("bits, signed", [(1, True), (1, False), (2, True), (4, True), (4, False), (8, True), (8, False)])
@pytest.mark.parametrize("dead_zone", [0, 1, 3])
def test_population_levels_equal_the_quantizer_levels(bits, signed, dead_zone):
    """The firing half of every stage: spikes decode to the (dead-zone) quantizer's levels, per layer and per channel."""
    if bits == 1 and signed and dead_zone:
        pytest.skip("sign mode admits no dead zone")
    gen = torch.Generator().manual_seed(bits * 10 + dead_zone)
    v = torch.randn(64, 6, generator=gen) * 3
    base = LSQQuantizer(bits, signed)
    base.initialize_from(v)
    lo, hi = (-1, 1) if base.sign_mode else (base.qmin, base.qmax)
    for silent in (torch.tensor(hi), torch.randint(lo, hi + 1, (6,), generator=gen)):
        if base.sign_mode:
            silent = torch.where(silent == 0, 1, silent)
        q = DeadZoneQuantizer.from_quantizer(base, dead_zone, silent)
        pop = masked_population(q, "q")
        steps, polarity = pop.fire(v)
        assert torch.equal(pop.decode(steps, polarity), q.levels(v))
        assert bool(((steps == pop.T) == (polarity == 0)).all())


def test_population_refuses_a_mask_other_than_the_dead_zone_quantizers():
    q = DeadZoneQuantizer(4, True, dead_zone=2, silent=0)
    q.initialize_from(torch.randn(10))
    with pytest.raises(OttersError, match="silent level must be the quantizer's own"):
        masked_population(q, "q", silent=3)
    with pytest.raises(OttersError, match="dead zone 2"):
        masked_population(q, "q", dead_zone=0)
    with pytest.raises(OttersError, match="levels of the quantizer"):
        masked_population(_init(LSQQuantizer(4, False)), "u", silent=-1)


def _init(q):
    q.initialize_from(torch.ones(3))
    return q


def test_histogram_helpers():
    counts = np.array([[1, 5, 2], [7, 0, 0]])
    assert most_frequent_level(counts.sum(0), -1) == -1  # 8 vs 5 vs 2
    assert most_frequent_level(counts, -1).tolist() == [0, -1]
    assert most_frequent_level(np.array([3, 3]), 0) == 0  # ties: the lowest level
    assert silent_fraction(counts.sum(0), -1, 0) == pytest.approx(5 / 15)
    assert silent_fraction(counts.sum(0), -1, 0, dead_zone=1) == 1.0
    assert silent_fraction(counts, -1, np.array([0, -1])) == pytest.approx(12 / 15)
