"""Decay curves of the optoelectronic synapse: the normalised output O(t) under constant light.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 "device": the In2O3 thin-film-transistor
current decays as a stretched exponential O(t) = I0*exp(-(t/tau)^beta) + I_offset, fitted by
differential evolution; I0 = 110.989, tau = 1.3425, beta = 0.495, I_offset = -109.989, so O(0) = 1.

Two kinds of curve share one interface (:class:`DecayCurve`): the closed form, and a curve given by
measured samples with monotone (PCHIP) interpolation, because a real device drifts from any fit.
Curves are saved as small JSON files; every ``--curve FILE`` option of the CLI reads them.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from otters.errors import OttersError
from otters.io import atomic_write_json, read_json

_FORMAT_KEY = "otters_curve"
_FORMAT_VERSION = 1
_RTOL = 4 * np.finfo(np.float64).eps  # the tightest relative tolerance brentq accepts


def _as_float_array(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise OttersError(f"{name} contains non-finite values (NaN or inf); clean the data first")
    return arr


class DecayCurve:
    """A monotonically decreasing device output O(t), t >= 0 (normalised so that O(0) is about 1).

    Subclasses implement ``_value`` (O on an array of valid times), ``_inverse`` (t with O(t) = y on
    an array of reachable outputs), ``domain`` and ``to_dict``.
    """

    kind = "abstract"

    @property
    def domain(self) -> tuple[float, float]:
        """The closed time interval on which O(t) is defined."""
        raise NotImplementedError

    def __call__(self, t) -> np.ndarray:
        """O(t) as float64; ``t`` must lie in :attr:`domain` (OttersError otherwise)."""
        t = _as_float_array(t, "t")
        lo, hi = self.domain
        if t.size and (t.min() < lo or t.max() > hi):
            raise OttersError(
                f"time outside the curve's domain [{lo:g}, {hi:g}] (got {t.min():g} .. {t.max():g})"
            )
        return self._value(t)

    def inverse(self, y) -> np.ndarray:
        """The time t with O(t) = y (float64); y must lie in [O(end of domain), O(0)]."""
        y = _as_float_array(y, "y")
        lo, hi = self.output_range
        if y.size and (y.min() < lo or y.max() > hi):
            raise OttersError(
                f"output level outside the curve's range [{lo:.6g}, {hi:.6g}] "
                f"(asked for {y.min():.6g} .. {y.max():.6g}); the device never reaches it"
            )
        return self._inverse(y)

    @property
    def output_range(self) -> tuple[float, float]:
        """(lowest reachable output, O(0))."""
        lo, hi = self.domain
        return float(self._value(np.array(hi))), float(self._value(np.array(lo)))

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _value(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k not in ("kind", "t", "current"))
        return f"{type(self).__name__}({fields})"


class StretchedExponential(DecayCurve):
    """O(t) = I0*exp(-(t/tau)^beta) + I_offset (Otters, Sec. 3; the paper's fit is the default).

    Evaluated as O(t) = O0 + I0*expm1(-(t/tau)^beta) with O0 = I0 + I_offset, because I0 and
    I_offset nearly cancel (110.989 - 109.989): the direct form loses ~2 digits near O = 0.
    Closed-form inverse: t = tau*[-log1p((y - O0)/I0)]^(1/beta).
    """

    kind = "stretched_exponential"

    def __init__(self, I0: float = 110.989, tau: float = 1.3425, beta: float = 0.495, I_offset: float = -109.989):
        values = {"I0": I0, "tau": tau, "beta": beta, "I_offset": I_offset}
        for name, value in values.items():
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
                raise OttersError(f"stretched exponential: {name} must be a finite number, got {value!r}")
        if I0 <= 0 or tau <= 0 or beta <= 0:
            raise OttersError(
                f"stretched exponential needs I0, tau, beta > 0 to decay (got I0={I0}, tau={tau}, beta={beta})"
            )
        self.I0, self.tau, self.beta, self.I_offset = float(I0), float(tau), float(beta), float(I_offset)

    @property
    def O0(self) -> float:
        """O(0) = I0 + I_offset."""
        return self.I0 + self.I_offset

    @property
    def domain(self) -> tuple[float, float]:
        return 0.0, math.inf

    @property
    def output_range(self) -> tuple[float, float]:
        # O(inf) = I_offset is approached but never reached.
        return math.nextafter(self.I_offset, math.inf), self.O0

    def _value(self, t: np.ndarray) -> np.ndarray:
        x = np.power(t / self.tau, self.beta)
        return self.O0 + self.I0 * np.expm1(-x)

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        # -log1p(d) with d = (y - O0)/I0 in (-1, 0]: stable for y near O0 (t -> 0, the early steps).
        x = -np.log1p((y - self.O0) / self.I0)
        return self.tau * np.power(np.maximum(x, 0.0), 1.0 / self.beta)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "I0": self.I0, "tau": self.tau, "beta": self.beta, "I_offset": self.I_offset}

    def __eq__(self, other) -> bool:
        return isinstance(other, StretchedExponential) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))


class SampledCurve(DecayCurve):
    """A measured curve: samples (t_i, O_i) with t_0 = 0, t strictly increasing, O strictly decreasing.

    O(t) between samples is the PCHIP interpolant (Fritsch-Carlson monotone cubic, scipy), which
    keeps the interpolant monotone when the samples are, so the inverse is unique. The inverse is a
    bracketed root search (scipy ``brentq``) in log t inside the bracketing sample interval: the
    instants of interest span four decades (t_1 ~ 4e-7, t_15 ~ 1e-4 on the paper's device).
    """

    kind = "sampled"

    def __init__(self, t, current):
        t = _as_float_array(t, "t").ravel()
        current = _as_float_array(current, "current").ravel()
        if t.shape != current.shape:
            raise OttersError(f"sampled curve: {t.size} times but {current.size} currents; give one current per time")
        if t.size < 2:
            raise OttersError("sampled curve needs at least 2 samples")
        if t[0] != 0.0:
            raise OttersError(f"sampled curve must start at t = 0 (the light switching on), first time is {t[0]:g}")
        if np.any(np.diff(t) <= 0):
            raise OttersError("sampled curve: times must be strictly increasing; sort them and drop duplicates")
        if np.any(np.diff(current) >= 0):
            raise OttersError(
                "sampled curve: current must be strictly decreasing; smooth noisy data or fit it "
                "with `otters device fit` instead"
            )
        self.t, self.current = t, current
        self._interp = PchipInterpolator(t, current, extrapolate=False)

    @property
    def domain(self) -> tuple[float, float]:
        return 0.0, float(self.t[-1])

    @property
    def output_range(self) -> tuple[float, float]:
        return float(self.current[-1]), float(self.current[0])

    def _value(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self._interp(t), dtype=np.float64)

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        flat = y.ravel()
        out = np.empty_like(flat)
        # current is decreasing: reverse it for searchsorted; interval i spans [t_i, t_(i+1)].
        rev = self.current[::-1]
        for j, target in enumerate(flat):
            exact = np.nonzero(self.current == target)[0]
            if exact.size:
                out[j] = self.t[exact[0]]
                continue
            i = self.t.size - 1 - int(np.searchsorted(rev, target, side="left"))
            lo, hi = self.t[i], self.t[i + 1]
            f = lambda s, target=target: float(self._interp(s)) - target  # noqa: E731
            if lo > 0:
                # Search in log t; exp(log(hi)) can round just above hi (outside the samples, where the
                # interpolant is NaN), so every trial time is clamped back into [lo, hi].
                def f_log(u, lo=lo, hi=hi, f=f):
                    return f(min(max(math.exp(u), lo), hi))

                out[j] = math.exp(brentq(f_log, math.log(lo), math.log(hi), xtol=1e-15, rtol=_RTOL))
                out[j] = min(max(out[j], lo), hi)
            else:  # first interval starts at t = 0, where log t is unbounded
                out[j] = brentq(f, lo, hi, xtol=1e-300, rtol=_RTOL)
        return out.reshape(y.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "t": self.t.tolist(), "current": self.current.tolist()}

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, SampledCurve)
            and np.array_equal(self.t, other.t)
            and np.array_equal(self.current, other.current)
        )

    __hash__ = None  # mutable arrays inside


PAPER_CURVE = StretchedExponential()
"""The paper's fitted device: I0 = 110.989, tau = 1.3425, beta = 0.495, I_offset = -109.989."""


def curve_from_dict(d: dict[str, Any]) -> DecayCurve:
    """Rebuild a curve from :meth:`DecayCurve.to_dict` output (extra keys are ignored)."""
    if not isinstance(d, dict) or "kind" not in d:
        raise OttersError("curve description must be a JSON object with a 'kind' key")
    kind = d["kind"]
    try:
        if kind == StretchedExponential.kind:
            return StretchedExponential(d["I0"], d["tau"], d["beta"], d["I_offset"])
        if kind == SampledCurve.kind:
            return SampledCurve(d["t"], d["current"])
    except KeyError as exc:
        raise OttersError(f"curve of kind {kind!r} lacks the key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, OttersError):
            raise
        raise OttersError(f"curve of kind {kind!r} has malformed values ({exc})") from None
    raise OttersError(f"unknown curve kind {kind!r}; expected '{StretchedExponential.kind}' or '{SampledCurve.kind}'")


def save_curve(curve: DecayCurve, path: str | os.PathLike, meta: dict[str, Any] | None = None):
    """Write ``curve`` as JSON atomically; ``meta`` (e.g. fit quality) is stored alongside."""
    payload = {_FORMAT_KEY: _FORMAT_VERSION, **curve.to_dict()}
    if meta:
        payload["meta"] = meta
    return atomic_write_json(path, payload)


def load_curve(path: str | os.PathLike) -> DecayCurve:
    """Read a curve JSON written by :func:`save_curve` (or by ``otters device fit --out``)."""
    data = read_json(path)
    if isinstance(data, dict) and data.get(_FORMAT_KEY, _FORMAT_VERSION) != _FORMAT_VERSION:
        raise OttersError(f"{path}: unsupported curve format version {data.get(_FORMAT_KEY)!r}")
    try:
        return curve_from_dict(data)
    except OttersError as exc:
        raise OttersError(f"{path}: {exc}") from None
