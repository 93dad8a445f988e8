"""The exactness envelope: how far clock, ADC, device drift and read timing may move before a code breaks.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 and Proposition 1: a spike at step k reads the
device at t_k, where O(t_k) = (T - k)/T, and the ADC turns the reading into the code
a_k = round_half_up(O*T*R) = (T - k)*R (R = 2^(b - n), n = log2(T + 1)). Lossless inference needs
every code of steps k = 0..T-1 exact (step T is silent and reads nothing). Writing c_k = (T - k)*R,
the code is exact iff the output read lies in [(c_k - 1/2)/(T*R), (c_k + 1/2)/(T*R)) (round half up),
i.e. iff the read instant s lies in the read window (t_k^-, t_k^+] with

    t_k^- = O^-1((c_k + 1/2)/(T*R)),   t_k^+ = O^-1((c_k - 1/2)/(T*R))    (O decreasing; t_0^- = -inf).

The four bounds, all derived from these windows (no search, no simulation):

- **clock period** (reads at the start of the tick holding t_k, s_k = floor(t_k/dt)*dt <= t_k):
  exact iff r_k = t_k mod dt < t_k - t_k^- for every k >= 1. For dt in (t_k/(m+1), t_k/m] the
  remainder r = t_k - m*dt falls from t_k/(m+1) to 0, so it breaks for dt in (t_k/(m+1), t_k^-/m],
  non-empty iff m < t_k^-/(t_k - t_k^-). The smallest failing period of step k is therefore just
  above t_k/M_k with M_k = ceil(t_k^-/(t_k - t_k^-)), and every dt <= min_k t_k/M_k is exact while
  some dt just above it is not: ``max_clock_period`` = min_k t_k/M_k (unbounded for T = 1).
- **ADC bits**: below n bits one code spans 2^(n-b) levels (coding.adc_convert), so level 1 is
  lost; from n bits on every code is exact iff every nominal reading rounds to c_k:
  ``min_adc_bits`` = the smallest b >= n with all codes exact (n on any curve whose schedule was
  computed from it).
- **uniform output drift** (the chip reads (1 + d)*O(s_k) at the clock's read instants s_k):
  exact iff (c_k - 1/2)/x_k - 1 <= d < (c_k + 1/2)/x_k - 1 for all k, x_k = O(s_k)*T*R;
  ``max_output_drift`` = the smaller magnitude of the two sides (about 1/(2*T*R): a wider ADC
  resolves, and so breaks on, smaller drifts).
- **read jitter** (each read displaced by |j| <= J from s_k; a read never precedes the light, t >= 0):
  exact iff s_k + j stays in (t_k^-, t_k^+]; ``max_jitter`` = min_k min(s_k - t_k^-, t_k^+ - s_k)
  (step 0 only the late side).

Drift and jitter are evaluated at a clock period ``dt`` (default: :func:`default_clock_period`, the
hardware simulator's), since the read instants s_k depend on it. Each bound carries the setting the
simulator uses by default and its margin: how far that default sits inside the bound.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from otters.coding.adc import adc_convert, adc_resolution
from otters.device import DecayCurve, check_steps, fire_times
from otters.errors import OttersError

# Same tolerance as otters.device.schedule: an instant within 1e-9 of a tick of a boundary is on it.
_TICK_SLACK = 1e-9
_MAX_ADC_BITS = 24


@dataclass(frozen=True)
class Bound:
    """One bound of the envelope: ``value`` (None: unbounded), the simulator's ``default`` setting, and
    ``margin``, how far the default sits inside the bound (value - default; bits: default - value)."""

    value: float | None
    default: float
    margin: float | None


@dataclass(frozen=True)
class Tolerance:
    """The exactness envelope of one window length T on one curve, read through a ``adc_bits`` ADC."""

    T: int
    adc_bits: int
    dt: float | None
    max_clock_period: Bound
    min_adc_bits: Bound
    max_output_drift: Bound
    max_jitter: Bound

    def to_dict(self) -> dict:
        return asdict(self)


def read_windows(curve: DecayCurve, T: int, adc_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_k, t_k^-, t_k^+) for k = 0..T-1: a read at s gives the exact code iff t_k^- < s <= t_k^+."""
    R = adc_resolution(T, adc_bits)
    times = fire_times(curve, T)[:T]
    c = (T - np.arange(T, dtype=np.float64)) * R
    lo, hi = curve.output_range
    upper = (c + 0.5) / (T * R)
    lower = (c - 0.5) / (T * R)
    early = np.full(T, -math.inf)
    reach = upper < hi
    early[reach] = curve.inverse(upper[reach])
    if lower.min() < lo:
        raise OttersError(f"the curve never decays to {lower.min():.6g}; it cannot hold the T = {T} codes")
    late = curve.inverse(lower)
    return times, early, late


def clock_bound(curve: DecayCurve, T: int, adc_bits: int = 8) -> float | None:
    """max_clock_period = min_{k >= 1} t_k / ceil(t_k^- / (t_k - t_k^-)) (module docstring); None if T = 1."""
    times, early, _late = read_windows(curve, T, adc_bits)
    t, e = times[1:], early[1:]
    if t.size == 0:
        return None
    return float(np.min(t / np.ceil(e / (t - e))))


def default_clock_period(curve: DecayCurve, Ts, adc_bits: int = 8) -> float:
    """The hardware simulator's clock: a quarter of the tightest max_clock_period over the window
    lengths ``Ts``, rounded down to 2 significant digits (inside every bound, with room for jitter);
    a window of T = 1 alone gets a quarter of t_1."""
    bounds = [clock_bound(curve, T, adc_bits) for T in Ts]
    finite = [b for b in bounds if b is not None]
    base = min(finite) if finite else min(float(fire_times(curve, T)[1]) for T in Ts)
    quarter = base / 4
    exponent = math.floor(math.log10(quarter)) - 1
    return math.floor(quarter / 10.0**exponent) * 10.0**exponent


def read_instants(curve: DecayCurve, T: int, dt: float | None) -> np.ndarray:
    """s_k, k = 0..T-1: the start of the tick holding t_k on a clock of period dt (t_k itself if None)."""
    times = fire_times(curve, T)[:T]
    if dt is None:
        return times
    return np.floor(times / dt + _TICK_SLACK) * dt


def drift_window(curve: DecayCurve, T: int, adc_bits: int, dt: float | None) -> tuple[float, float]:
    """[low, high): the uniform output drifts d that keep every code exact when the chip reads
    (1 + d)*O(s_k) at the read instants s_k of a clock of period dt (module docstring); low < 0 < high."""
    s = read_instants(curve, T, dt)
    R = adc_resolution(T, adc_bits)
    c = (T - np.arange(T, dtype=np.float64)) * R
    x = curve(s) * T * R
    return float(np.max((c - 0.5) / x - 1)), float(np.min((c + 0.5) / x - 1))


def _bits_bound(curve: DecayCurve, T: int) -> int:
    n = check_steps(T)
    outputs = curve(fire_times(curve, T)[:T])
    levels = T - np.arange(T)
    for bits in range(n, _MAX_ADC_BITS + 1):
        if np.array_equal(adc_convert(outputs, T, bits), levels * 2 ** (bits - n)):
            return bits
    raise OttersError(f"no ADC of {n}..{_MAX_ADC_BITS} bits reads this curve's T = {T} schedule exactly")


def tolerance(curve: DecayCurve, T: int, adc_bits: int = 8, dt: float | None = None) -> Tolerance:
    """The four bounds of the exactness envelope for ``curve`` at T (derivation: module docstring).

    ``dt``: the clock at which drift and jitter are bounded (default :func:`default_clock_period`
    of this T). Raises OttersError for a bad T, ADC or clock, or a clock outside the clock bound.
    """
    check_steps(T)
    adc_resolution(T, adc_bits)
    clock_max = clock_bound(curve, T, adc_bits)
    if dt is None:
        dt = default_clock_period(curve, [T], adc_bits)
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise OttersError(f"clock period dt must be a positive finite number, got {dt!r}")
    if clock_max is not None and dt > clock_max:
        raise OttersError(f"dt = {dt:g} s is outside the clock bound {clock_max:.6g} s: codes are already wrong there")
    _times, early, late = read_windows(curve, T, adc_bits)
    s = read_instants(curve, T, dt)
    low, high = drift_window(curve, T, adc_bits, dt)
    drift = min(high, -low)
    jitter = float(min(np.min(s[1:] - early[1:]) if T > 1 else math.inf, np.min(late - s)))
    bits = _bits_bound(curve, T)
    return Tolerance(
        T=T,
        adc_bits=int(adc_bits),
        dt=float(dt),
        max_clock_period=Bound(clock_max, float(dt), None if clock_max is None else clock_max - dt),
        min_adc_bits=Bound(bits, int(adc_bits), int(adc_bits) - bits),
        max_output_drift=Bound(drift, 0.0, drift),
        max_jitter=Bound(jitter, 0.0, jitter),
    )
