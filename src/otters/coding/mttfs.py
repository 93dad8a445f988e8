"""Masked time-to-first-spike (M-TTFS) coding, the dead zone, and the two stepped thresholds.

Source: Matterhorn (arXiv 2601.22876): plain TTFS gives the zero-energy silent state (no spike) to
the lowest level; M-TTFS gives it, through a mask, to the most frequent level m; a dead zone maps a
range of levels around m to silence too. The exact two-population realisation below is ours
(docs/matterhorn.md), built on the TTFS timing of Otters (ICLR 2026, Proposition 1).

Code. A neuron holding level q sends the deviation d = q - m from the silent level m of its
population (one m per layer, or one per channel):

- d = 0: no spike (silent);
- d != 0: ONE spike, in the positive population if d > 0, the negative one if d < 0, at step
  k = T - c where c = |d| / code_scale in [1, T] (code_scale = 2 for the 1-bit sign mode, whose
  levels -1, +1 differ by 2; else 1). Through the device and ADC such a spike reads a_k = c R, as
  for plain TTFS, so the receiver accumulates sign * c and adds m back digitally.

Levels span T + 1 values, so |d| <= T * code_scale whatever m is: every level keeps a spike time.

Dead zone (half-width k_dz, in levels): levels with |q - m| <= k_dz are mapped to m, i.e. silent.
k_dz = 0 is lossless M-TTFS. With m = qmin and k_dz = 0 the code is plain TTFS (only the positive
population fires, at k = T - (q - qmin)).

Arrays may be numpy arrays or torch tensors (the result has the input's kind).
"""

from __future__ import annotations

import numpy as np

from otters.device import check_steps
from otters.errors import OttersError


def _xp(x):
    """The array library of x: torch for tensors, numpy otherwise (torch is never imported here)."""
    if type(x).__module__.startswith("torch"):
        # torch is heavy and optional here (numpy arrays work without it); a tensor means it is loaded.
        import torch

        return torch
    return np


def _as_int(x, name: str):
    xp = _xp(x)
    if xp is np:
        arr = np.asarray(x)
        if arr.dtype.kind == "f" and not np.all(arr == np.floor(arr)):
            raise OttersError(f"{name} must hold integers (got non-integral values)")
        if arr.dtype.kind not in "iubf":
            raise OttersError(f"{name} must be an integer array, got dtype {arr.dtype}")
        return arr.astype(np.int64)
    if x.is_floating_point() and not bool((x == xp.floor(x)).all()):
        raise OttersError(f"{name} must hold integers (got non-integral values)")
    return x.to(xp.int64)


def _like(value, ref):
    """``value`` (int or array) as an int64 array of ref's kind, broadcastable against ref."""
    xp = _xp(ref)
    if xp is np:
        return np.asarray(value, dtype=np.int64)
    return xp.as_tensor(value, dtype=xp.int64)


def _size(x) -> int:
    return int(x.size) if isinstance(x, (np.ndarray, np.generic)) else int(x.numel())


def check_dead_zone(dead_zone) -> int:
    """Validate a dead-zone half-width: an integer >= 0 (0 = lossless M-TTFS)."""
    if isinstance(dead_zone, bool) or not isinstance(dead_zone, (int, np.integer)) or int(dead_zone) < 0:
        raise OttersError(f"the dead zone is a number of levels >= 0 (0 = lossless M-TTFS), got {dead_zone!r}")
    return int(dead_zone)


def dead_zone_map(levels, silent, dead_zone: int):
    """q' = m if |q - m| <= k_dz else q (Matterhorn's dead zone; k_dz = 0 changes nothing).

    ``silent`` (m) is a scalar or a per-channel array broadcasting against the last dimension.
    """
    k = check_dead_zone(dead_zone)
    if k == 0:
        return levels
    xp = _xp(levels)
    m = _like(silent, levels)
    return xp.where(xp.abs(levels - m) <= k, m + xp.zeros_like(levels), levels)


def mttfs_encode(levels, silent, T: int, dead_zone: int = 0, code_scale: int = 1):
    """(steps, polarity) of levels under M-TTFS: steps int64 (T = silent), polarity in {-1, 0, +1}.

    c = |q' - m| / code_scale with q' the dead-zone map of q; step k = T - c; polarity = sign(q' - m).
    Raises OttersError when a deviation is not a whole number of code steps or exceeds T.
    """
    check_steps(T)
    xp = _xp(levels)
    q = dead_zone_map(_as_int(levels, "levels"), silent, dead_zone)
    d = q - _like(silent, q)
    c = xp.abs(d)
    if bool((c % code_scale != 0).any()):
        raise OttersError(f"levels differ from the silent level by a non-multiple of the code step {code_scale}")
    c = c // code_scale
    if _size(c) and int(c.max()) > T:
        raise OttersError(f"a level lies more than T = {T} code steps from the silent level; check the level range")
    return T - c, xp.sign(d)


def mttfs_decode(steps, polarity, silent, T: int, code_scale: int = 1):
    """q = m + polarity * code_scale * (T - k) (silent neurons: polarity 0 -> q = m)."""
    check_steps(T)
    k = _as_int(steps, "steps")
    p = _as_int(polarity, "polarity")
    if bool(((k < 0) | (k > T)).any()):
        raise OttersError(f"steps must lie in [0, {T}]")
    return _like(silent, k) + p * (code_scale * (T - k))


def mttfs_thresholds(silent, T: int, qmin: int, qmax: int, dead_zone: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The two stepped thresholds of an M-TTFS population, in units of alpha, for steps k = 0..T-1.

    With y = V/alpha + 1/2 (the quantizer's rounding shift as initial potential) and c = T - k:

    - positive neuron fires at the first k with y >= theta+_k = m + c, allowed for c in
      [k_dz + 1, qmax - m] (theta+ = +inf elsewhere: beyond the level range or inside the dead zone);
    - negative neuron fires at the first k with y < theta-_k = m - c + 1, allowed for c in
      [k_dz + 1, m - qmin] (theta- = -inf elsewhere).

    For an integer j and a float y, y >= j <=> floor(y) >= j and y < j + 1 <=> floor(y) <= j, so the
    first crossing encodes clamp(floor(y), qmin, qmax) - m exactly (docs/matterhorn.md). ``silent``:
    scalar or per-channel; the result has shape (T,) or (channels, T), float64.
    """
    check_steps(T)
    k = check_dead_zone(dead_zone)
    m = np.asarray(silent, dtype=np.int64)
    if np.any(m < qmin) or np.any(m > qmax):
        raise OttersError(f"silent levels must lie in the level range [{qmin}, {qmax}], got {m.min()}..{m.max()}")
    c = T - np.arange(T, dtype=np.int64)  # code of each step k = 0..T-1
    mm = m[..., None].astype(np.float64)
    pos_ok = (c >= k + 1) & (c <= qmax - m[..., None])
    neg_ok = (c >= k + 1) & (c <= m[..., None] - qmin)
    positive = np.where(pos_ok, mm + c, np.inf)
    negative = np.where(neg_ok, mm - c + 1, -np.inf)
    return positive, negative


def most_frequent_level(counts, qmin: int):
    """The silent level of a histogram: qmin + argmax(counts) over the last axis (ties: the lowest level).

    ``counts``: shape (levels,) for one population, (channels, levels) for per-channel masks.
    Matterhorn: the mask gives the silent state to the most frequent value.
    """
    counts = np.asarray(counts)
    if counts.ndim < 1 or counts.shape[-1] < 1:
        raise OttersError("a level histogram needs at least one bin")
    return qmin + np.argmax(counts, axis=-1).astype(np.int64)


def silent_fraction(counts, qmin: int, silent, dead_zone: int = 0) -> float:
    """Fraction of neurons that stay silent: sum of counts with |q - m| <= k_dz over all counts.

    ``counts`` (levels,) or (channels, levels); ``silent`` scalar or (channels,).
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    levels = qmin + np.arange(counts.shape[-1])
    m = np.asarray(silent, dtype=np.int64)
    inside = np.abs(levels - m[..., None]) <= check_dead_zone(dead_zone)
    if counts.ndim == 1 and inside.ndim == 2:
        raise OttersError("per-channel silent levels need a per-channel histogram")
    return float((counts * inside).sum() / total)
