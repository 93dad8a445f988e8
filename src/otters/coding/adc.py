"""The synapse read-out: what a spike at step k adds, as an analog potential and as ADC codes.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 and Prop. 1 condition 3: the device output at
the spike instant is weighted and digitised, eps'(t_k) = gamma*O(t_k) with gamma = w*alpha_in*T, so
a spike from level q = T - k adds w*alpha_in*q. The integer ADC codes make that sum bit-exact: see
the exactness design in the project contract (docs/device.md).
"""

from __future__ import annotations

import numpy as np

from otters.device import DecayCurve, check_steps, fire_times
from otters.errors import OttersError
from otters.limits import MAX_ADC_BITS, check_at_most


def _check_bits(adc_bits) -> int:
    if isinstance(adc_bits, bool) or not isinstance(adc_bits, (int, np.integer)) or adc_bits < 1:
        raise OttersError(f"adc_bits must be a positive integer, got {adc_bits!r}")
    check_at_most(int(adc_bits), MAX_ADC_BITS, "adc_bits", "codes are computed in float64, exact only below 2^53")
    return int(adc_bits)


def adc_resolution(T: int, adc_bits: int = 8) -> int:
    """R = 2**(adc_bits - n) with n = log2(T + 1): ADC sub-steps per activation level (exact path).

    An ADC narrower than n bits cannot give each of the T + 1 levels its own code, so the exact
    integer arithmetic is refused for it (it used to be widened to n bits silently). Such an ADC is
    modelled, lossy, by :func:`adc_convert`.
    """
    n = check_steps(T)
    bits = _check_bits(adc_bits)
    if bits < n:
        raise OttersError(
            f"a {bits}-bit ADC cannot resolve the {T + 1} levels of T = {T} (needs adc_bits >= {n}); "
            f"use adc_bits >= {n}, or the hardware simulator, which models the narrower ADC as lossy"
        )
    return 2 ** (bits - n)


def adc_scale(T: int, adc_bits: int) -> float:
    """s = 2**(adc_bits - n): ADC codes per activation level, a fraction below n bits (a power of two)."""
    n = check_steps(T)
    return 2.0 ** (_check_bits(adc_bits) - n)


def adc_convert(outputs, T: int, adc_bits: int) -> np.ndarray:
    """The b-bit conversion of device outputs O (full scale O = 1): code = clip(floor(O*T*s + 1/2), 0, 2^b - 1).

    s = 2**(b - n) (:func:`adc_scale`). For b >= n this is :func:`adc_codes`'s rule (s = R) with
    the converter's saturation added; for b < n one code spans 2^(n - b) levels, so the reading is
    honestly lossy (level 1 of T = 15 through a 2-bit ADC reads as 0). Returns int64 codes.
    """
    s = adc_scale(T, adc_bits)
    top = 2 ** int(adc_bits) - 1
    x = np.asarray(outputs, dtype=np.float64) * (T * s)
    return np.clip(np.floor(x + 0.5), 0, top).astype(np.int64)


def adc_levels(codes, T: int, adc_bits: int) -> np.ndarray:
    """The activation level a code stands for: code / s (float64; integers for b >= n only on exact codes)."""
    return np.asarray(codes, dtype=np.float64) / adc_scale(T, adc_bits)


def _schedule(curve: DecayCurve, T: int, times) -> np.ndarray:
    if times is None:
        return fire_times(curve, T)
    times = np.asarray(times, dtype=np.float64)
    if times.shape != (T + 1,):
        raise OttersError(f"times must hold the T + 1 = {T + 1} fire times t_0..t_T, got shape {times.shape}")
    return times


def adc_codes(curve: DecayCurve, T: int, adc_bits: int = 8, times=None) -> np.ndarray:
    """a_k = round_half_up(O(t_k)*T*R), k = 0..T, int64: the ADC reading of a spike at t_k in 1/R levels.

    R = 2**(adc_bits - n), n = log2(T+1) (adc_bits < n is refused: see :func:`adc_resolution`). On the nominal curve O(t_k) = (T - k)/T to ~1e-15,
    so a_k = (T - k)*R exactly; on a drawn (perturbed) device the codes deviate, which is how device
    variation reaches the otherwise exact integer arithmetic. Rounding is floor(x + 0.5), the
    project's one rule (otters.quant.round_half_up; re-implemented here because quant is above us).

    ``times``: the instants at which the device is read; default ``fire_times(curve, T)``. For a
    drawn device pass the NOMINAL schedule (``fire_times(PAPER_CURVE, T)``): the clock is designed
    for the nominal device, and the chip's own output at those instants is what the ADC sees.
    """
    R = adc_resolution(T, adc_bits)
    times = _schedule(curve, T, times)
    return np.floor(curve(times) * T * R + 0.5).astype(np.int64)


def psp(w, alpha_in, T: int, curve: DecayCurve, k, times=None):
    """Post-synaptic potential of a spike at step k: gamma*O(t_k), gamma = w*alpha_in*T (Prop. 1).

    ``w``, ``alpha_in`` and ``k`` broadcast (numpy). On the nominal curve this equals
    w*alpha_in*(T - k) to floating-point tolerance. ``times`` as in :func:`adc_codes`.
    """
    check_steps(T)
    k = np.asarray(k)
    if k.dtype.kind not in "iu" or (k.size and (k.min() < 0 or k.max() > T)):
        raise OttersError(f"spike step k must be an integer in [0, {T}]")
    times = _schedule(curve, T, times)
    gamma = np.asarray(w, dtype=np.float64) * np.asarray(alpha_in, dtype=np.float64) * T
    return gamma * curve(times[k])
