"""Fit the stretched-exponential decay to measured samples (differential evolution + local polish).

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3: the device curve was fitted by differential
evolution on the residual sum of squares, giving I0 = 110.989, tau = 1.3425, beta = 0.495,
I_offset = -109.989.

Conditioning. Over the window of interest (O from 1 down to 0, t <= 1e-4) the paper's device has
x = (t/tau)^beta <= 0.01, so O(t) ~ O0 - I0*x + I0*x^2/2: the data fix O0, beta and the product
c = I0*tau^-beta well, but I0 and tau separately only through the small curvature term. We therefore
search over (O0, log10 I0, log10 tau, beta), with I_offset = O0 - I0 derived: O0 is well determined
and the cancelling pair I0/I_offset is never searched directly. Judge a fit by its curve (RSS, R^2,
RMS error), not by its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import differential_evolution, least_squares
from scipy.stats import spearmanr

from otters.device.curves import PAPER_CURVE, StretchedExponential
from otters.errors import OttersError

MIN_SAMPLES = 8  # four parameters; fewer points cannot judge a fit


@dataclass
class DecayFit:
    """Result of :func:`fit_decay`: parameters, fit quality and the fitted curve."""

    params: dict[str, float]
    rss: float
    r2: float
    curve: StretchedExponential
    rmse: float = 0.0
    n: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"params": dict(self.params), "rss": self.rss, "r2": self.r2, "rmse": self.rmse, "n": self.n}


def _model(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """O(t) for parameter columns (O0, log10 I0, log10 tau, beta); params (4,) or (4, S)."""
    o0, log_a, log_tau, beta = (np.asarray(p)[..., None] for p in params)
    x = np.power(t / 10.0**log_tau, beta)
    return o0 + 10.0**log_a * np.expm1(-x)


def _validate(t, current) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=np.float64).ravel()
    y = np.asarray(current, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise OttersError(f"fit: {t.size} times but {y.size} currents; give one current per time")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise OttersError("fit: the data contain non-finite values (NaN or inf); remove those rows")
    if t.size < MIN_SAMPLES:
        raise OttersError(f"fit: need at least {MIN_SAMPLES} samples to fit 4 parameters, got {t.size}")
    if t.min() < 0:
        raise OttersError("fit: times must be >= 0 (measured from the moment the light switches on)")
    if np.unique(t).size < 3 or np.ptp(y) == 0:
        raise OttersError("fit: the data do not vary; need samples at several distinct times")
    rho = spearmanr(t, y).statistic
    if not rho < -0.5:
        raise OttersError(
            f"fit: the data do not decay (rank correlation of current with time is {rho:+.2f}, "
            "need a clearly decreasing curve)"
        )
    return t, y


def fit_decay(t, current, seed: int = 0, maxiter: int = 400) -> DecayFit:
    """Fit O(t) = I0*exp(-(t/tau)^beta) + I_offset by differential evolution, then polish.

    Minimises RSS = sum_i (O(t_i) - y_i)^2 (Otters, Sec. 3) with scipy's ``differential_evolution``
    over data-driven bounds, then refines with ``least_squares`` (trust-region reflective) from the
    best member. Returns :class:`DecayFit` with R^2 = 1 - RSS/TSS. Refuses non-finite values, fewer
    than 8 samples, negative times and data that do not decay (Spearman rho > -0.5).
    """
    t, y = _validate(t, current)
    span = float(np.ptp(y))
    t_pos = t[t > 0]
    t_small, t_large = float(t_pos.min()), float(t.max())
    bounds = [
        (float(y.min()), float(y.max()) + span),  # O0
        (np.log10(span) - 1.0, np.log10(span) + 4.0),  # log10 I0
        (np.log10(t_small) - 3.0, np.log10(t_large) + 6.0),  # log10 tau
        (0.05, 3.0),  # beta
    ]

    def rss(params: np.ndarray) -> np.ndarray:
        return np.sum((_model(params, t) - y) ** 2, axis=-1)

    search = differential_evolution(
        rss, bounds, seed=seed, maxiter=maxiter, popsize=20, tol=1e-10, polish=False,
        vectorized=True, updating="deferred",
    )
    lower, upper = np.array(bounds).T
    polish = least_squares(
        lambda p: _model(p, t) - y, np.clip(search.x, lower, upper), bounds=(lower, upper),
        method="trf", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000,
    )
    best = polish.x if float(rss(polish.x)) <= float(search.fun) else search.x
    o0, log_a, log_tau, beta = (float(v) for v in best)
    amplitude = 10.0**log_a
    curve = StretchedExponential(I0=amplitude, tau=10.0**log_tau, beta=beta, I_offset=o0 - amplitude)
    residual = curve(t) - y
    rss_value = float(np.sum(residual**2))
    tss = float(np.sum((y - y.mean()) ** 2))
    return DecayFit(
        params={"I0": curve.I0, "tau": curve.tau, "beta": curve.beta, "I_offset": curve.I_offset},
        rss=rss_value,
        r2=1.0 - rss_value / tss,
        curve=curve,
        rmse=float(np.sqrt(rss_value / t.size)),
        n=int(t.size),
        extra={"O0": o0, "de_iterations": int(search.nit), "de_evaluations": int(search.nfev)},
    )


def paper_samples(n: int = 200, noise: float = 0.01, seed: int = 0, t_min: float = 1e-9, t_max: float = 1.2e-4):
    """Synthetic measurement of the paper's device: n log-spaced times, Gaussian noise sigma = noise.

    ``noise`` is in units of O(0) = 1 (so 0.01 is "1 % noise"); the grid spans t_min..t_max, where
    the paper curve falls from 0.99 to below 0 (t_15 ~ 1.00e-4 for T = 15).
    Returns (t, noisy current, true current).
    """
    t = np.geomspace(t_min, t_max, n)
    clean = PAPER_CURVE(t)
    rng = np.random.default_rng(seed)
    return t, clean + noise * rng.standard_normal(n), clean
