"""The firing schedule: the instants t_k at which the device output equals the level grid.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1, condition 2: O(t_k) = (T - k)/T for
k = 0..T with T = 2^n - 1; the stepped threshold changes only at these instants, which sit on a
uniform physical clock.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from otters.device.curves import DecayCurve
from otters.errors import OttersError
from otters.limits import MAX_SCHEDULE_BITS, MAX_SCHEDULE_STEPS, check_at_most

# An instant within this fraction of a tick of a tick boundary counts as on the boundary, so that
# t/dt = 2.9999999999999996 (float error of an exact 3) lands in tick 3, not 2.
_TICK_SLACK = 1e-9
# At most this many candidate periods are tried when searching for the coarsest clock.
_MAX_CANDIDATES = 2_000_000


def check_steps(T) -> int:
    """Validate the number of time steps: T = 2^n - 1 with n >= 1 (Proposition 1, condition 1).

    Returns n = log2(T + 1), the activation bit width.
    """
    if isinstance(T, bool) or not isinstance(T, numbers.Integral):
        raise OttersError(f"T must be an integer of the form 2^n - 1 (1, 3, 7, 15, ...), got {T!r}")
    T = int(T)
    if T < 1 or (T + 1) & T:
        lower = 2 ** max(int(T + 1).bit_length() - 1, 1) - 1
        upper = 2 ** max(int(T + 1).bit_length(), 1) - 1
        hint = f"; nearest valid values: {lower} or {upper}" if T >= 1 else ""
        raise OttersError(f"T must be 2^n - 1 (1, 3, 7, 15, 31, ...), got T = {T}{hint}")
    check_at_most(T, MAX_SCHEDULE_STEPS, "T", f"n = log2(T + 1) <= {MAX_SCHEDULE_BITS} activation bits (a schedule "
                  "holds T + 1 instants; the Otters QNNs use n = 4)")
    return (T + 1).bit_length() - 1


def fire_times(curve: DecayCurve, T: int) -> np.ndarray:
    """The instants t_k, k = 0..T, with O(t_k) = (T - k)/T and t_0 = 0 (Otters, Prop. 1, cond. 2).

    t_0 = 0 by definition (the light switches on; O(0) is the curve's top). For k >= 1 the instant is
    ``curve.inverse((T - k)/T)``: closed form in log space for the stretched exponential,
    t_k = tau*[-log1p(((T-k)/T - O0)/I0)]^(1/beta); bracketed brentq in log t for sampled curves.
    Raises OttersError when the curve does not reach a level (e.g. never decays to 0).
    """
    check_steps(T)
    levels = (T - np.arange(1, T + 1, dtype=np.float64)) / T
    lo, hi = curve.output_range
    if hi < levels[0] or lo > 0.0:
        raise OttersError(
            f"the curve spans outputs [{lo:.6g}, {hi:.6g}] but the T = {T} schedule needs "
            f"[0, {levels[0]:.6g}] reached at t > 0; normalise the curve so that O(0) = 1 and it decays to 0"
        )
    times = np.concatenate([[0.0], curve.inverse(levels)])
    if np.any(np.diff(times) <= 0):
        raise OttersError(
            f"the curve is too flat to separate the T = {T} levels in time (instants not strictly increasing)"
        )
    return times


def _ticks(times: np.ndarray, dt) -> np.ndarray:
    return np.floor(np.asarray(times) / dt + _TICK_SLACK).astype(np.int64)


def _distinct_after_sort(sorted_times: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """For each candidate period in ``dt`` (1-D), whether all sorted instants get distinct ticks."""
    ticks = np.floor(sorted_times[None, :] / dt[:, None] + _TICK_SLACK)
    return np.all(np.diff(ticks, axis=1) > 0, axis=1)


def coarsest_clock(times) -> float:
    """The largest period dt for which the instants fall in distinct ticks floor(t/dt).

    Any dt <= min gap works; a coarser one can work when tick boundaries happen to fall between
    close instants. The validity of dt only changes where some t_j/dt crosses an integer, so the
    candidates are dt = t_j/m (m = 1, 2, ...) between the minimum gap and an upper bound (three
    consecutive instants need dt < t_(i+2) - t_i), tried coarsest first.
    """
    t = np.sort(np.asarray(times, dtype=np.float64).ravel())
    if t.size < 2:
        return math.inf
    gap = float(np.min(np.diff(t)))
    if gap <= 0:
        raise OttersError("two instants coincide; no clock can separate them")
    # Upper bound: three consecutive instants need three ticks, so dt < t_(i+2) - t_i; an instant at
    # t = 0 sits in tick 0, so the next one needs dt <= t_1.
    upper = float(np.max(t))
    if t.size >= 3:
        upper = min(upper, float(np.min(t[2:] - t[:-2])))
    if t[0] == 0.0:
        upper = min(upper, float(t[1]))
    upper *= 1 + 1e-9
    positive = t[t > 0]
    m_low = np.maximum(np.ceil(positive / upper), 1).astype(np.int64)
    m_high = np.floor(positive / gap).astype(np.int64)
    counts = np.maximum(m_high - m_low + 1, 0)
    if counts.sum() <= _MAX_CANDIDATES:
        pieces = [tj / np.arange(lo, hi + 1) for tj, lo, hi in zip(positive, m_low, m_high) if hi >= lo]
        cand = np.unique(np.concatenate(pieces or [np.empty(0)]))[::-1]
        for start in range(0, cand.size, 4096):
            chunk = cand[start:start + 4096]
            ok = np.nonzero(_distinct_after_sort(t, chunk))[0]
            if ok.size:
                return float(chunk[ok[0]])
    # Fallback (or nothing coarser found): the minimum gap, shrunk until it provably separates.
    dt = gap
    while not _distinct_after_sort(t, np.array([dt]))[0]:
        dt *= 1 - 1e-9
    return dt


def _printable_period(times: np.ndarray) -> str:
    """The coarsest period, rounded DOWN to 6 significant digits if that still works."""
    best = coarsest_clock(times)
    exponent = math.floor(math.log10(best)) - 5
    shown = math.floor(best / 10.0**exponent) * 10.0**exponent
    sorted_t = np.sort(times.ravel())
    if 0 < shown <= best and _distinct_after_sort(sorted_t, np.array([shown]))[0]:
        return f"{shown:.6g}"
    return repr(best)


def clock(times, dt: float) -> np.ndarray:
    """Tick index floor(t/dt) of each instant on a uniform clock of period dt (Otters, Sec. 3).

    The threshold of a layer changes only at the fire times, so the controller must resolve each of
    them on its clock: two instants in one tick [i*dt, (i+1)*dt) is an error whose message names the
    coarsest dt that works (see :func:`coarsest_clock`).
    """
    t = np.asarray(times, dtype=np.float64)
    if not np.all(np.isfinite(t)) or (t.size and t.min() < 0):
        raise OttersError("clock: instants must be finite and >= 0")
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not math.isfinite(dt) or dt <= 0:
        raise OttersError(f"clock period dt must be a positive finite number, got {dt!r}")
    ticks = _ticks(t, dt)
    if np.unique(ticks).size < ticks.size:
        flat_t, flat_k = t.ravel(), ticks.ravel()
        order = np.argsort(flat_t, kind="stable")
        same = np.nonzero(np.diff(flat_k[order]) == 0)[0][0]
        a, b = flat_t[order[same]], flat_t[order[same + 1]]
        raise OttersError(
            f"clock period dt = {dt:g} is too coarse: instants {a:.6g} and {b:.6g} fall in the same tick "
            f"{flat_k[order[same]]}; use dt <= {_printable_period(t)}"
        )
    return ticks
