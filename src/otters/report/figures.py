"""The report's own figures: a spike raster of one sentence, spike-time histograms per layer, energy.

The device figures (decay curve with firing instants and stepped threshold; fit) come from
``otters.device.plots`` and the robustness curves from ``otters.studies.robustness.robustness_plot``.
matplotlib (Agg) is imported inside the functions; files are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from otters.io import savefig_atomic

KIND_ORDER = ("input", "q", "k", "v", "p", "pv_out", "ffn_in", "ffn2_in", "pooler_in")
PART_ORDER = ("FC", "QKV", "attention", "norms", "data_movement", "analog")


def _pyplot():
    # matplotlib is imported on first use: it is slow to import and only the report's figures need it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(plt) -> dict:
    palette = plt.get_cmap("tab10").colors
    return {kind: palette[i % len(palette)] for i, kind in enumerate(KIND_ORDER)}


def raster_figure(raster: dict, path: str | os.PathLike) -> Path:
    """Spike raster of one sentence: x = time in TTFS windows (t = slot + k/T, slot = 6 * layer + window),
    y = sampled neurons of each population in firing order; silent neurons draw nothing (TTFS, Otters Prop. 1)."""
    plt = _pyplot()
    colors = _colors(plt)
    fig, ax = plt.subplots(figsize=(11, 6.5), constrained_layout=True)
    row, seen, yticks = 0, set(), []
    for pop in raster["populations"]:
        steps = np.asarray(pop["sample_steps"], dtype=float)
        fired = steps < pop["T"]
        ys = row + np.arange(steps.size)
        label = pop["kind"] if pop["kind"] not in seen else None
        seen.add(pop["kind"])
        ax.scatter(pop["slot"] + steps[fired] / pop["T"], ys[fired], s=5, marker="|", color=colors.get(pop["kind"]),
                   label=label, linewidths=1.2)
        yticks.append((row + steps.size / 2, pop))
        row += steps.size + 4
    slots = 6 * raster["layers"] + 1
    for slot in range(slots + 1):
        ax.axvline(slot, color="0.85" if slot % 6 else "0.55", lw=0.6, zorder=0)
    ax.set_xlim(0, slots)
    ax.set_ylim(row, -2)
    ax.set_xlabel("time (TTFS windows of T steps; darker lines: encoder layer boundaries; last window: pooler)")
    ax.set_ylabel("sampled neurons per population (firing order)")
    firsts = {}
    for y, pop in yticks:
        firsts.setdefault(pop["layer"], y)
    ax.set_yticks([y for y in firsts.values()])
    ax.set_yticklabels(["pooler" if k is None else f"layer {k}" for k in firsts])
    total = sum(p["neurons"] for p in raster["populations"])
    spikes = sum(p["spikes"] for p in raster["populations"])
    ax.set_title(f"Spike raster of one sentence ({raster['tokens']} tokens): {spikes:,} spikes from {total:,} neurons "
                 f"({spikes / max(total, 1):.1%} fire, each at most once)")
    ax.legend(loc="upper right", fontsize=7, ncol=3, markerscale=3)
    out = savefig_atomic(fig, path, dpi=110)
    plt.close(fig)
    return out


def histogram_figure(histograms: dict, path: str | os.PathLike) -> Path:
    """Per layer: fraction of each population's neurons firing at step k (k = T - level; later = smaller
    value); the title gives the silent fraction (level 0: no spike)."""
    plt = _pyplot()
    colors = _colors(plt)
    labels = list(histograms)
    cols = min(4, max(1, len(labels)))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    for ax, label in zip(axes.flat, labels):
        neurons = spikes = 0
        for kind in KIND_ORDER:
            rec = histograms[label].get(kind)
            if rec is None or not rec["neurons"]:
                continue
            hist = np.asarray(rec["histogram"], dtype=float) / rec["neurons"]
            ax.plot(np.arange(hist.size), hist, marker="o", ms=2.5, lw=1, color=colors[kind], label=kind)
            neurons += rec["neurons"]
            spikes += rec["spikes"]
        ax.set_title(f"{label}: {1 - spikes / max(neurons, 1):.0%} silent", fontsize=9)
        ax.set_xlabel("spike step k", fontsize=8)
        ax.set_ylabel("fraction of neurons", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=6, ncol=2)
    fig.suptitle("Spike-time histograms per layer (verification sentences)")
    out = savefig_atomic(fig, path, dpi=110)
    plt.close(fig)
    return out


def energy_figure(measured: dict, path: str | os.PathLike) -> Path:
    """Measured energy per inference: computation per part + data movement + analog (mJ), and data
    movement by data class (otters.energy, 22 nm table)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    parts = measured["parts"]
    names = [p for p in PART_ORDER if p in parts] + [p for p in parts if p not in PART_ORDER]
    values = [parts[p] * 1e3 for p in names]
    palette = plt.get_cmap("tab10").colors
    left.barh(names, values, color=[palette[i % 10] for i in range(len(names))])
    left.invert_yaxis()
    left.set_xlabel("µJ per inference")
    left.set_title(f"total {measured['total_mj'] * 1e3:.4g} µJ per inference ({measured['table']})")
    for y, v in enumerate(values):
        left.text(v, y, f" {v / max(sum(values), 1e-30):.0%}", va="center", fontsize=8)
    data = measured.get("by_data") or {}
    keys = [k for k, v in data.items() if v > 0]
    right.barh(keys, [data[k] * 1e3 for k in keys], color="tab:gray")
    right.invert_yaxis()
    right.set_xlabel("µJ per inference")
    right.set_title("data movement by data class")
    inp = measured["input"]
    fig.suptitle(f"Energy of the spiking model, measured on {inp['sentences']} sentences "
                 f"(mean {inp['mean_tokens']:.1f} tokens)")
    out = savefig_atomic(fig, path, dpi=110)
    plt.close(fig)
    return out
