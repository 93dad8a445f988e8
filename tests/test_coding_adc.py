"""A spike at t_k adds w*alpha*(T - k): as a float through O(t_k), and exactly as integer ADC codes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.coding import adc_codes, adc_convert, adc_levels, adc_resolution, psp, ttfs_encode
from otters.device import PAPER_CURVE, fire_times, perturb_curve
from otters.errors import OttersError

T_VALUES = st.sampled_from([1, 3, 7, 15, 31, 255])


@settings(max_examples=60)
@given(T_VALUES, st.floats(-10, 10), st.floats(1e-4, 10), st.data())
def test_psp_equals_weight_times_level(T, w, alpha, data):
    k = data.draw(st.integers(0, T))
    added = psp(w, alpha, T, PAPER_CURVE, k)
    assert added == pytest.approx(w * alpha * (T - k), rel=1e-12, abs=1e-12 * abs(w * alpha * T))


@settings(max_examples=40)
@given(T_VALUES, st.sampled_from([0, 1, 4, 8]), st.data())
def test_adc_codes_are_exact_integers(T, extra_bits, data):
    adc_bits = (T + 1).bit_length() - 1 + extra_bits
    codes = adc_codes(PAPER_CURVE, T, adc_bits)
    R = adc_resolution(T, adc_bits)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, (T - np.arange(T + 1)) * R)
    # A layer of spikes through the ADC: the integer accumulator is exactly levels @ w.T.
    n = data.draw(st.integers(1, 30))
    levels = np.array(data.draw(st.lists(st.integers(0, T), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)))
    acc = np.sum(codes[ttfs_encode(levels, T)] * w)
    assert acc % R == 0 and acc // R == int(levels @ w)


def test_adc_resolution():
    assert adc_resolution(15, 8) == 16 and adc_resolution(255, 8) == 1 and adc_resolution(15, 4) == 1
    with pytest.raises(OttersError, match="adc_bits"):
        adc_resolution(15, 0)


@pytest.mark.parametrize("T, bits", [(15, 2), (15, 3), (255, 4), (3, 1)])
def test_adc_narrower_than_the_levels_is_refused_on_the_exact_path(T, bits):
    with pytest.raises(OttersError, match=f"{bits}-bit ADC cannot resolve"):
        adc_resolution(T, bits)
    with pytest.raises(OttersError, match="cannot resolve"):
        adc_codes(PAPER_CURVE, T, bits)


def test_narrow_adc_is_honestly_lossy():
    """A 2-bit ADC at T = 15 has 4 codes, not 16: levels collapse in groups of 4 (and saturate)."""
    levels = 15 - np.arange(16)
    nominal = PAPER_CURVE(fire_times(PAPER_CURVE, 15))
    codes = adc_convert(nominal, 15, 2)
    assert codes.min() >= 0 and codes.max() <= 3 and np.unique(codes).size == 4
    read = adc_levels(codes, 15, 2)
    assert not np.array_equal(read, levels)
    np.testing.assert_array_equal(read, np.minimum(np.floor(levels / 4 + 0.5), 3) * 4)
    # At n bits and wider the conversion is the exact rule of adc_codes.
    for bits in (4, 6, 8):
        np.testing.assert_array_equal(adc_convert(nominal, 15, bits), adc_codes(PAPER_CURVE, 15, bits))
        np.testing.assert_array_equal(adc_levels(adc_convert(nominal, 15, bits), 15, bits), levels)


def test_drawn_device_read_at_nominal_times_deviates():
    nominal = fire_times(PAPER_CURVE, 15)
    chip = perturb_curve(PAPER_CURVE, rel_output=0.1, rng=3)
    codes = adc_codes(chip, 15, times=nominal)
    scale = chip(0.0) / PAPER_CURVE(0.0)
    np.testing.assert_array_equal(codes, np.floor(scale * (15 - np.arange(16)) * 16 + 0.5).astype(np.int64))
    assert not np.array_equal(codes, adc_codes(PAPER_CURVE, 15))
    assert psp(1.0, 1.0, 15, chip, 0, times=nominal) == pytest.approx(15 * scale)


def test_psp_refuses_bad_step():
    with pytest.raises(OttersError, match="step k"):
        psp(1.0, 1.0, 15, PAPER_CURVE, 16)
    with pytest.raises(OttersError, match="T \\+ 1"):
        adc_codes(PAPER_CURVE, 15, times=[0.0, 1.0])
