"""Figures of the device: the decay curve with its firing schedule, and a fit against its data.

matplotlib is imported inside the functions (Agg backend) so that importing otters.device stays
cheap; files are written atomically through otters.io.savefig_atomic.
"""

from __future__ import annotations

import os

import numpy as np

from otters.device.curves import DecayCurve
from otters.device.fit import DecayFit
from otters.device.schedule import fire_times
from otters.io import savefig_atomic


def _pyplot():
    # matplotlib is a heavy dependency needed only to draw: imported here, not at the top.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_schedule(curve: DecayCurve, T: int, path: str | os.PathLike, title: str | None = None):
    """O(t) on a log-time axis, the instants t_k marked, and the stepped threshold theta(t)/(alpha*T).

    The normalised threshold (T - k)/T holds on [t_k, t_(k+1)) and meets the curve at every t_k:
    that contact is Proposition 1's condition O(t_k) = (T - k)/T (Otters, ICLR 2026).
    """
    plt = _pyplot()
    times = fire_times(curve, T)
    levels = (T - np.arange(T + 1)) / T
    first = times[1]
    hi = times[-1] * 3.0 if np.isinf(curve.domain[1]) else curve.domain[1]
    grid = np.geomspace(first / 30.0, hi, 600)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    ax.plot(grid, curve(grid), color="tab:blue", lw=1.8, label="device output O(t)")
    # Stepped threshold from t_1 on (t_0 = 0 is off the log axis; theta = T*alpha before t_1).
    edges = np.concatenate([[grid[0]], times[1:], [grid[-1]]])
    steps = np.concatenate([[levels[0]], levels[1:], [levels[-1]]])
    ax.step(edges, steps, where="post", color="tab:orange", lw=1.2, label=r"threshold $\theta(t)/(\alpha T)$")
    ax.plot(times[1:], curve(times[1:]), "o", color="tab:red", ms=4, label=r"fire times $t_k$")
    ax.set_xscale("log")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(min(-0.05, float(curve(grid[-1:])[0])), 1.05)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("time t (device units)")
    ax.set_ylabel("normalised output")
    ax.set_title(title or f"Device decay and T = {T} firing schedule (t_1 = {times[1]:.3g}, t_T = {times[-1]:.3g})")
    ax.legend(loc="lower left")
    savefig_atomic(fig, path, dpi=120)
    plt.close(fig)


def plot_fit(t, current, fit: DecayFit, path: str | os.PathLike, truth: DecayCurve | None = None):
    """Samples, the fitted curve (and the true one if known) on a log-time axis, with residuals."""
    plt = _pyplot()
    t = np.asarray(t, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    order = np.argsort(t)
    t, current = t[order], current[order]
    positive = t > 0
    grid = np.geomspace(t[positive].min(), t.max(), 500)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6), sharex=True, constrained_layout=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot(t[positive], current[positive], ".", color="0.45", ms=3, label=f"samples (n = {t.size})")
    top.plot(grid, fit.curve(grid), color="tab:blue", lw=1.8, label=f"fit: R² = {fit.r2:.5f}, RSS = {fit.rss:.3g}")
    if truth is not None:
        top.plot(grid, truth(grid), "--", color="tab:red", lw=1.0, label="true curve")
    top.set_xscale("log")
    top.set_ylabel("output")
    p = fit.params
    top.set_title(f"I0 = {p['I0']:.4g}, tau = {p['tau']:.4g}, beta = {p['beta']:.4g}, I_offset = {p['I_offset']:.4g}")
    top.legend(loc="lower left")
    bottom.plot(t[positive], current[positive] - fit.curve(t[positive]), ".", color="0.45", ms=3)
    bottom.axhline(0.0, color="tab:blue", lw=1.0)
    bottom.set_xlabel("time t (device units)")
    bottom.set_ylabel("residual")
    savefig_atomic(fig, path, dpi=120)
    plt.close(fig)
