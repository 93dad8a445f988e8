"""Device-to-device variation: draw a perturbed curve for robustness studies.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 5 robustness: accuracy versus a relative
deviation of the device output O(t) (stable to ~5 %, HAT training holds to 20 %). A chip's curve
differs from the nominal one in its time constant, its stretching exponent and its output scale;
this module draws such a chip.
"""

from __future__ import annotations

import numpy as np

from otters.device.curves import DecayCurve, SampledCurve, StretchedExponential
from otters.errors import OttersError


def _factor(rng: np.random.Generator, rel: float, name: str) -> float:
    if not np.isfinite(rel) or rel < 0:
        raise OttersError(f"perturb_curve: {name} must be a finite relative deviation >= 0, got {rel!r}")
    value = 1.0 + rel * float(rng.standard_normal()) if rel > 0 else 1.0
    if value <= 0:
        raise OttersError(f"perturb_curve: drew a non-positive {name} factor ({value:.3g}); use a smaller deviation")
    return value


def perturb_curve(
    curve: DecayCurve,
    rel_output: float = 0.0,
    rel_tau: float = 0.0,
    rel_beta: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> DecayCurve:
    """A drawn device: O'(t) = g*O(warp(t)) with g = 1 + rel_output*z1, s = 1 + rel_tau*z2, b = 1 + rel_beta*z3.

    For the stretched exponential this is exactly tau' = s*tau, beta' = b*beta, (I0, I_offset)' =
    g*(I0, I_offset). For a sampled curve the same time warp is applied to the sample times,
    t_i' = s*t_ref*(t_i/t_ref)^(1/b), with t_ref the half-decay time (O(t_ref) = O(0)/2, or the last
    sample if the curve never halves): it rescales time by s and stretches it in log space by 1/b,
    which is what changing tau and beta does to a stretched exponential. z1..z3 ~ N(0, 1) i.i.d.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    g = _factor(rng, rel_output, "rel_output")
    s = _factor(rng, rel_tau, "rel_tau")
    b = _factor(rng, rel_beta, "rel_beta")
    if isinstance(curve, StretchedExponential):
        return StretchedExponential(I0=g * curve.I0, tau=s * curve.tau, beta=b * curve.beta, I_offset=g * curve.I_offset)
    if isinstance(curve, SampledCurve):
        lo, hi = curve.output_range
        half = 0.5 * hi
        t_ref = float(curve.inverse(half)) if lo <= half <= hi and half > lo else float(curve.t[-1])
        warped = s * t_ref * np.power(curve.t / t_ref, 1.0 / b)
        return SampledCurve(warped, g * curve.current)
    raise OttersError(f"perturb_curve: unsupported curve type {type(curve).__name__}")
