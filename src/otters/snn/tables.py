"""Device tables of a spiking chip: fire times, clock ticks and ADC codes per T, plus variation.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 and Prop. 1: a spike at t_k reads the device
output O(t_k) through an ADC, a_k = round_half_up(O(t_k) * T * R), R = 2^max(adc_bits - n, 0); on
the nominal device O(t_k) = (T - k)/T, so a_k = (T - k) * R and the accumulator is exact.

Device variation (Otters, Sec. 5 robustness), both deliberately lossy:

- chip level: the chip's curve O'(t) differs from the nominal one, but the controller still fires
  at the nominal instants t_k (its clock was designed for the nominal device), so the readings are
  a'_k = round_half_up(O'(t_k) * T * R) != (T - k) * R;
- synapse level: each synapse (i, j) of layer l scales O(t) by (1 + d_ij), d_ij ~ N(0, sigma^2)
  drawn once per layer from a seed (a fixed chip), so a spike adds a_k * (1 + d_ij) * w_ij.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from otters.coding import adc_codes, adc_resolution
from otters.device import DecayCurve, clock, coarsest_clock, fire_times, perturb_curve
from otters.errors import OttersError

MAX_TICKS_PER_WINDOW = 20_000_000  # beyond this the tick reference takes minutes; use the event simulator


@dataclass(frozen=True)
class DeviceVariation:
    """A drawn chip: ``chip_curve`` (None = nominal) and a per-synapse relative deviation of O(t).

    ``synapse_rel_std`` = sigma of d_ij in (1 + d_ij); ``seed`` fixes the per-layer matrices.
    """

    chip_curve: DecayCurve | None = None
    synapse_rel_std: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if not (math.isfinite(self.synapse_rel_std) and self.synapse_rel_std >= 0):
            raise OttersError(f"synapse_rel_std must be a finite number >= 0, got {self.synapse_rel_std!r}")

    @property
    def is_nominal(self) -> bool:
        return self.chip_curve is None and self.synapse_rel_std == 0

    def synapse_factors(self, layer_index: int, shape: tuple[int, ...]) -> torch.Tensor | None:
        """(1 + d_ij) for layer ``layer_index`` (float64, clipped at 0: a device output is never
        negative), or None without synapse variation. Same seed + layer -> same matrix."""
        if self.synapse_rel_std == 0:
            return None
        gen = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + int(layer_index))
        d = torch.randn(shape, generator=gen, dtype=torch.float64) * self.synapse_rel_std
        return torch.clamp(1.0 + d, min=0.0)


def draw_variation(
    curve: DecayCurve,
    rel_output: float = 0.0,
    rel_tau: float = 0.0,
    rel_beta: float = 0.0,
    synapse_rel_std: float = 0.0,
    seed: int = 0,
) -> DeviceVariation:
    """A drawn chip: otters.device.perturb_curve(curve, rel_output, rel_tau, rel_beta, rng=seed)
    plus per-synapse deviation sigma = ``synapse_rel_std`` (Otters, Sec. 5 robustness study)."""
    chip = None
    if rel_output or rel_tau or rel_beta:
        chip = perturb_curve(curve, rel_output, rel_tau, rel_beta, rng=np.random.default_rng(seed))
    return DeviceVariation(chip_curve=chip, synapse_rel_std=float(synapse_rel_std), seed=int(seed))


def chip_codes(chip: DecayCurve, times: np.ndarray, T: int, R: int) -> np.ndarray:
    """round_half_up(O_chip(t) * T * R) at the nominal instants (float64, integer-valued).

    A sampled chip curve may end before the last nominal instant: beyond its last sample the
    output is held at that sample (the recording's end), rather than refusing the chip.
    """
    lo, hi = chip.domain
    return np.floor(chip(np.clip(times, lo, hi)) * T * R + 0.5)


class DeviceTables:
    """Per-T tables of one chip: nominal fire times, clock ticks, and the ADC look-up table.

    ``curve`` is the nominal (design) curve: it fixes the instants t_k and the clock. Readings come
    from ``variation.chip_curve`` when given, else from ``curve`` (then through
    ``otters.coding.adc_codes``). The look-up table has T + 1 entries; entry T (silent) is 0.
    """

    def __init__(self, curve: DecayCurve, adc_bits: int = 8, variation: DeviceVariation | None = None, dt: float | None = None):
        self.curve = curve
        self.adc_bits = int(adc_bits)
        self.variation = variation or DeviceVariation()
        self.dt = dt
        self._cache: dict = {}

    def _memo(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def times(self, T: int) -> np.ndarray:
        """Nominal fire times t_0..t_T (otters.device.fire_times of the design curve)."""
        return self._memo(("times", T), lambda: fire_times(self.curve, T))

    def resolution(self, T: int) -> int:
        """R = 2^max(adc_bits - n, 0): ADC codes per activation level."""
        return adc_resolution(T, self.adc_bits)

    def reading(self, T: int, k: int) -> float:
        """ADC code of one spike at step k, computed from the chip curve at the nominal t_k.

        round_half_up(O_chip(t_k) * T * R); independent of :meth:`lut` (the tick reference uses it).
        """
        if k >= T:
            return 0.0
        chip = self.variation.chip_curve or self.curve
        return float(chip_codes(chip, self.times(T)[k : k + 1], T, self.resolution(T))[0])

    def lut(self, T: int) -> torch.Tensor:
        """ADC look-up table a_0..a_T (float32, integer-valued; a_T = 0 since silent neurons send nothing)."""

        def make():
            if self.variation.chip_curve is None:
                codes = adc_codes(self.curve, T, self.adc_bits).astype(np.float64)
            else:
                codes = chip_codes(self.variation.chip_curve, self.times(T), T, self.resolution(T))
            codes[T] = 0.0
            return torch.from_numpy(codes).to(torch.float32)

        return self._memo(("lut", T), make)

    def max_reading(self, T: int) -> float:
        """max_k |a_k| of the look-up table."""
        return self._memo(("max", T), lambda: float(self.lut(T).abs().max()))

    def ticks(self, T: int) -> tuple[np.ndarray, float]:
        """(tick index of each t_k on the uniform clock, period dt); dt defaults to the coarsest
        period that separates the instants (otters.device.coarsest_clock)."""

        def make():
            times = self.times(T)
            dt = self.dt if self.dt is not None else coarsest_clock(times)
            ticks = clock(times, dt)
            if int(ticks[-1]) + 1 > MAX_TICKS_PER_WINDOW:
                raise OttersError(
                    f"the T = {T} window spans {int(ticks[-1]) + 1} clock ticks of dt = {dt:g}; the tick reference "
                    f"would take too long: use the event simulator (--simulator event) or fewer bits"
                )
            return ticks, dt

        return self._memo(("ticks", T), make)
