"""The optoelectronic synapse's numbers: its firing schedule (``otters device schedule``) and the
device demo (``otters device demo``, step ``device`` of ``otters run``), from measurement to exact coding:

1. measure: synthetic noisy samples of the paper's device (Otters, ICLR 2026, Sec. 3; fixed seed);
2. fit: differential evolution + polish (:func:`otters.device.fit_decay`), RMS error vs the truth;
3. schedule: fire times t_k with O(t_k) = (T - k)/T (Prop. 1, cond. 2) and the coarsest clock;
4. coding: encode levels as TTFS steps, spike them through the device + ADC into an integer
   accumulator, check acc == levels @ weight_codes.T exactly and decode the levels back;
5. files: samples.csv, fitted_curve.json, fit.png, schedule.png, summary.json (all atomic).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from otters.coding import adc_codes, adc_resolution, stepped_threshold, ttfs_decode, ttfs_encode
from otters.device import (
    PAPER_CURVE,
    SampledCurve,
    clock,
    coarsest_clock,
    fire_times,
    fit_decay,
    paper_samples,
    perturb_curve,
    plot_fit,
    plot_schedule,
    save_curve,
    write_samples_csv,
)
from otters.errors import OttersError
from otters.io import atomic_write_json

DEMO_PROFILES = {
    # n samples, DE iterations, T values to tabulate, neurons in the coding demo, devices drawn
    "quick": {"n_samples": 200, "maxiter": 400, "T_values": [15], "neurons": 64, "devices": 8},
    "full": {"n_samples": 1000, "maxiter": 1000, "T_values": [1, 3, 7, 15, 31, 255], "neurons": 512, "devices": 64},
}


def schedule_dict(curve, T: int, adc_bits: int = 8, dt: float | None = None) -> dict:
    """The firing schedule as plain data: the keys of ``otters device schedule --json``.

    t_k solves O(t_k) = (T - k)/T (Otters, ICLR 2026, Proposition 1, condition 2); theta_k is the
    stepped threshold. With ``dt`` the instants are also placed on a uniform clock (key ``ticks``;
    OttersError when the clock is too coarse to separate them).
    """
    times = fire_times(curve, T)
    description = curve.to_dict()
    if isinstance(curve, SampledCurve):
        description = {"kind": curve.kind, "n_samples": int(curve.t.size)}
    data = {
        "T": T,
        "steps": list(range(T + 1)),
        "fire_times": [float(v) for v in times],
        "levels": [float(v) for v in curve(times)],
        "thresholds": [float(v) for v in stepped_threshold(1.0, T)],
        "adc_bits": adc_bits,
        "adc_codes": [int(v) for v in adc_codes(curve, T, adc_bits)],
        "coarsest_clock": coarsest_clock(times),
        "max_level_error": float(np.max(np.abs(curve(times) - (T - np.arange(T + 1)) / T))),
        "curve": description,
    }
    if dt is not None:
        data["dt"] = dt
        data["ticks"] = [int(v) for v in clock(times, dt)]
    return data


def _spike_through_device(levels: np.ndarray, weight_codes: np.ndarray, codes: np.ndarray, T: int, R: int):
    """Integer accumulator of a TTFS layer: each input spikes at k = T - q and adds a_k * w (event by event).

    Returns acc = sum_i a_(k_i) * w_ji / R, as an exact rational when the device is nominal
    (a_k = (T - k) R), i.e. acc == levels @ weight_codes.T.
    """
    steps = ttfs_encode(levels, T)
    acc = np.zeros(weight_codes.shape[0], dtype=np.int64)
    for k in range(T + 1):  # one time step after the other, as the hardware does
        firing = np.nonzero(steps == k)[0]
        if firing.size:
            acc += codes[k] * weight_codes[:, firing].sum(axis=1)
    return acc, steps


def run_device_demo(out_dir: str | os.PathLike = "runs/latest", profile: str = "quick", seed: int = 0,
                    log: Callable[[str], None] | None = None) -> dict:
    """Run the device + coding demo, write its files into ``out_dir``, return the summary dict (the
    content of its summary.json)."""
    if profile not in DEMO_PROFILES:
        raise OttersError(f"unknown profile {profile!r}; use one of: {', '.join(DEMO_PROFILES)}")
    cfg = DEMO_PROFILES[profile]
    say = log or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    # 1-2. measure and fit. "1 % noise" = Gaussian sigma 0.01 in units of O(0) = 1.
    noise = 0.01
    t, measured, truth = paper_samples(cfg["n_samples"], noise=noise, seed=seed)
    write_samples_csv(out / "samples.csv", t, measured)
    fit = fit_decay(t, measured, seed=seed, maxiter=cfg["maxiter"])
    rms_vs_truth = float(np.sqrt(np.mean((fit.curve(t) - truth) ** 2)))
    save_curve(fit.curve, out / "fitted_curve.json", meta={"fit": fit.to_dict()})
    plot_fit(t, measured, fit, out / "fit.png", truth=PAPER_CURVE)
    say(f"fit of {fit.n} samples (noise sigma {noise}): R^2 = {fit.r2:.6f}, RSS = {fit.rss:.4g}, "
        f"RMS error vs true curve = {rms_vs_truth:.2e} (noise {noise})")

    # 3. schedules on the paper's device and on the fitted one.
    schedules = {}
    for T in cfg["T_values"]:
        times = fire_times(PAPER_CURVE, T)
        fitted_times = fire_times(fit.curve, T)
        schedules[str(T)] = {
            "fire_times": times.tolist(),
            "max_level_error": float(np.max(np.abs(PAPER_CURVE(times) - (T - np.arange(T + 1)) / T))),
            "coarsest_clock": coarsest_clock(times),
            "fitted_fire_times": fitted_times.tolist(),
            "fitted_max_rel_time_error": float(np.max(np.abs(fitted_times[1:] / times[1:] - 1.0))),
        }
        say(f"T = {T}: t_1 = {times[1]:.4g}, t_T = {times[-1]:.4g}, max |O(t_k) - (T-k)/T| = "
            f"{schedules[str(T)]['max_level_error']:.1e}, clock dt <= {schedules[str(T)]['coarsest_clock']:.4g}")
    plot_schedule(PAPER_CURVE, 15, out / "schedule.png")

    # 4. coding through the device: nominal curve exact; fitted and drawn devices counted.
    T, neurons = 15, cfg["neurons"]
    R = adc_resolution(T)
    levels = rng.integers(0, T + 1, size=neurons)
    weight_codes = rng.choice(np.array([-1, 1]), size=(16, neurons))
    expected = levels @ weight_codes.T
    nominal_acc_scaled, steps = _spike_through_device(levels, weight_codes, adc_codes(PAPER_CURVE, T), T, R)
    decoded = ttfs_decode(steps, T)
    coding = {
        "T": T, "adc_resolution": R, "neurons": neurons,
        "accumulator_exact": bool(np.all(nominal_acc_scaled == expected * R)),
        "decode_exact": bool(np.array_equal(decoded, levels)),
        "silent_fraction": float(np.mean(levels == 0)),
    }
    fitted_scaled, _ = _spike_through_device(levels, weight_codes, adc_codes(fit.curve, T), T, R)
    # A fitted device is calibrated: its schedule comes from its own (fitted) curve, not the nominal one.
    coding["fitted_device_max_acc_error_levels"] = float(np.max(np.abs(fitted_scaled / R - expected)))
    coding["fitted_device_codes_off"] = int(np.sum(adc_codes(fit.curve, T) != adc_codes(PAPER_CURVE, T)))
    say(f"coding: {neurons} TTFS inputs x 16 outputs, accumulator exact = {coding['accumulator_exact']}, "
        f"decode exact = {coding['decode_exact']}; fitted device: {coding['fitted_device_codes_off']} of "
        f"{T + 1} ADC codes off, max accumulator error {coding['fitted_device_max_acc_error_levels']:.3g} levels")

    variation = {}
    nominal_times = fire_times(PAPER_CURVE, T)
    for rel in (0.01, 0.05, 0.10, 0.20):
        errors = []
        for _ in range(cfg["devices"]):
            chip = perturb_curve(PAPER_CURVE, rel_output=rel, rng=rng)
            # The clock is designed for the nominal device; the chip is read at those instants.
            codes = adc_codes(chip, T, times=nominal_times)
            scaled, _ = _spike_through_device(levels, weight_codes, codes, T, R)
            errors.append(float(np.mean(np.abs(scaled / R - expected))))
        variation[str(rel)] = {"devices": cfg["devices"], "mean_abs_acc_error_levels": float(np.mean(errors))}
        say(f"output variation {rel:.0%}: mean |acc error| = {np.mean(errors):.3g} levels over {cfg['devices']} drawn devices")

    summary = {
        "profile": profile, "seed": seed,
        "fit": {**fit.to_dict(), "noise_sigma": noise, "rms_error_vs_truth": rms_vs_truth},
        "schedules": schedules, "coding": coding, "output_variation": variation,
        "files": ["samples.csv", "fitted_curve.json", "fit.png", "schedule.png", "summary.json"],
    }
    atomic_write_json(out / "summary.json", summary)
    return summary
