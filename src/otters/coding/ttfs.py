"""Plain time-to-first-spike (TTFS) coding and the stepped threshold.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1: a neuron holding level q in [0, T]
spikes once, at logical step k = T - q (large values spike early); level 0 maps to k = T, where the
device output O(t_T) = 0 carries nothing, so the neuron may as well stay silent. The threshold of
the receiving layer steps down as theta(t) = alpha*(T - k) for t_k <= t < t_(k+1).

Arrays may be numpy arrays or torch tensors; the result has the input's kind (torch is never
imported here: the arithmetic is written so that both libraries run it).
"""

from __future__ import annotations

import numpy as np

from otters.device import check_steps
from otters.errors import OttersError


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _integer_array(x, name: str):
    """x as int64 (numpy or torch), refusing non-integral values."""
    if _is_torch(x):
        # torch is heavy and optional here (numpy arrays work without it); a tensor means it is loaded.
        import torch

        if x.is_floating_point():
            if not bool(torch.all(torch.isfinite(x))) or not bool(torch.all(x == torch.floor(x))):
                raise OttersError(f"{name} must hold integers (got non-integral values)")
        return x.to(torch.int64)
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.floor(arr)):
            raise OttersError(f"{name} must hold integers (got non-integral values)")
    elif arr.dtype.kind not in "iub":
        raise OttersError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_range(x, T: int, name: str, what: str) -> None:
    if x.numel() if _is_torch(x) else x.size:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > T:
            raise OttersError(f"{name} must lie in [0, {T}] ({what}), got values in [{lo}, {hi}]")


def ttfs_encode(levels, T: int):
    """Spike step of each level: k = T - q for q in [0, T] (Otters, Prop. 1; q = 0 -> k = T, silent-able)."""
    check_steps(T)
    q = _integer_array(levels, "levels")
    _check_range(q, T, "levels", "the quantised activation levels")
    return T - q


def ttfs_decode(steps, T: int, silent: int | None = None):
    """Level of each spike step: q = T - k for k in [0, T]; steps equal to ``silent`` decode to 0.

    A silent neuron (no spike in the window) is level 0, the same as a spike at k = T. Pass the
    marker your simulator uses for "no spike" (e.g. -1) as ``silent``.
    """
    check_steps(T)
    k = _integer_array(steps, "steps")
    if silent is not None:
        quiet = k == silent
        k = k.masked_fill(quiet, T) if _is_torch(k) else np.where(quiet, T, k)
    _check_range(k, T, "steps", "the logical time steps of one window")
    return T - k


def stepped_threshold(alpha: float, T: int) -> np.ndarray:
    """theta_k = alpha*(T - k), k = 0..T (Otters, Prop. 1, condition 4), float64 of shape (T+1,)."""
    check_steps(T)
    if not np.isfinite(alpha):
        raise OttersError(f"alpha must be finite, got {alpha!r}")
    return float(alpha) * (T - np.arange(T + 1, dtype=np.float64))


def threshold_at(t, alpha: float, times: np.ndarray) -> np.ndarray:
    """theta(t) = alpha*(T - k) for t_k <= t < t_(k+1) (and 0 after t_T), given the fire times t_0..t_T.

    ``times`` is :func:`otters.device.fire_times`'s output; ``t`` is physical time (t >= 0).
    """
    times = np.asarray(times, dtype=np.float64)
    T = times.size - 1
    check_steps(T)
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)) or (t.size and t.min() < times[0]):
        raise OttersError(f"threshold_at: times must be finite and >= t_0 = {times[0]:g}")
    k = np.searchsorted(times, t, side="right") - 1
    return float(alpha) * (T - np.minimum(k, T)).astype(np.float64)
