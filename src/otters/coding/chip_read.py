"""A device read as a chip takes it: on a clock tick, through a real (or drawn) curve, a b-bit ADC, noise.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 and Prop. 1: a spike at step k is emitted at
the clock tick holding the fire instant t_k, and its synapse reads the device output there. The
exact path reads O(t_k) itself through an ADC of at least n bits (:func:`otters.coding.adc_codes`);
this model takes the read where a clocked chip takes it:

    s_k = floor(t_k/dt)*dt  (+ j, j ~ U(-jitter, +jitter), never before t = 0)
    o   = (1 + drift) * O_chip(s_k)  (+ e, e ~ N(0, read_noise^2), full scale 1)
    code = clip(floor(o*T*s + 1/2), 0, 2^b - 1),  s = 2^(b - n)        (otters.coding.adc_convert)

and returns the reading in the exact path's units, code * R / s with R = 2^max(b - n, 0): the
code itself for b >= n, and code * 2^(n - b) (several levels per code: lossy) below n bits. The
schedule t_k always comes from the design (nominal) curve: the chip's clock was built for it.
The envelope inside which every code stays exact is :func:`otters.coding.tolerance.tolerance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from otters.coding.adc import adc_convert, adc_scale
from otters.device import DecayCurve, check_steps, fire_times
from otters.errors import OttersError

_TICK_SLACK = 1e-9  # as otters.device.schedule: t/dt within 1e-9 of an integer is on the tick


def _non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise OttersError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_read_settings(dt, drift: float = 0.0, jitter: float = 0.0, read_noise: float = 0.0) -> None:
    """The chip's clock period ``dt`` (s; None: not chosen yet), output ``drift``, timing ``jitter`` and
    ``read_noise``, each in its domain, else one OttersError naming it. Callers check before costly work."""
    if dt is not None and (isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt)
                           or dt <= 0):
        raise OttersError(f"clock period dt must be a positive finite number of seconds, got {dt!r}")
    if not math.isfinite(drift) or drift <= -1:
        raise OttersError(f"drift must be a finite number > -1, got {drift!r}")
    _non_negative(jitter, "jitter")
    _non_negative(read_noise, "read_noise")


@dataclass(frozen=True)
class ChipRead:
    """How a chip reads its devices: design ``curve``, optional drawn ``chip`` curve, clock ``dt`` (s),
    ``adc_bits``, uniform output ``drift``, timing ``jitter`` (s, uniform +-) and ``read_noise``
    (Gaussian sigma of the output, full scale 1)."""

    curve: DecayCurve
    dt: float
    adc_bits: int = 8
    chip: DecayCurve | None = None
    drift: float = 0.0
    jitter: float = 0.0
    read_noise: float = 0.0

    def __post_init__(self):
        if self.dt is None:
            raise OttersError("clock period dt must be a positive finite number of seconds, got None")
        check_read_settings(self.dt, self.drift, self.jitter, self.read_noise)
        if isinstance(self.adc_bits, bool) or not isinstance(self.adc_bits, int) or not 1 <= self.adc_bits <= 24:
            raise OttersError(f"adc_bits must be an integer in [1, 24], got {self.adc_bits!r}")

    @property
    def noisy(self) -> bool:
        return self.jitter > 0 or self.read_noise > 0

    def resolution(self, T: int) -> int:
        """R = 2^max(b - n, 0): the units of a reading (ADC codes per level when b >= n)."""
        return 2 ** max(self.adc_bits - check_steps(T), 0)

    def read_instants(self, T: int) -> np.ndarray:
        """s_k = floor(t_k/dt)*dt for k = 0..T-1: the start of the tick holding each nominal fire instant."""
        times = fire_times(self.curve, T)[:T]
        return np.floor(times / self.dt + _TICK_SLACK) * self.dt

    def _convert(self, T: int, instants: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        chip = self.chip or self.curve
        lo, hi = chip.domain
        out = (1.0 + self.drift) * chip(np.clip(instants, lo, hi))
        if self.read_noise and rng is not None:
            out = out + rng.normal(0.0, self.read_noise, size=out.shape)
        codes = adc_convert(out, T, self.adc_bits)
        return codes * (self.resolution(T) / adc_scale(T, self.adc_bits))

    def table(self, T: int) -> np.ndarray:
        """Readings of steps k = 0..T (float64, integer-valued; step T is silent: 0), without jitter or noise."""
        readings = np.zeros(T + 1)
        readings[:T] = self._convert(T, self.read_instants(T), None)
        return readings

    def read(self, T: int, steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Reading of each spike at step k (k = T: silent, 0), each with its own jitter and noise draw."""
        steps = np.asarray(steps)
        if not self.noisy:
            return self.table(T)[steps]
        out = np.zeros(steps.shape)
        fired = steps < T
        instants = self.read_instants(T)[steps[fired]]
        if self.jitter:
            instants = np.maximum(instants + rng.uniform(-self.jitter, self.jitter, size=instants.shape), 0.0)
        out[fired] = self._convert(T, instants, rng)
        return out
