"""Stacked bar plot of the paper table: each model's parts, with the paper's total beside it."""

from __future__ import annotations

from pathlib import Path

from otters.io import savefig_atomic

PART_ORDER = ("FC", "QKV", "attention", "norms", "data_movement", "analog")


def plot_paper_table(rows: list[dict], path: str | Path) -> Path:
    """Three panels: our parts stacked in mJ (linear: a log axis distorts stacks); our total beside the
    paper's on a log axis; each model's share per part."""
    # matplotlib is a heavy dependency needed only to draw: imported here, not at the top.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["model"] for r in rows]
    fig, (ax_abs, ax_cmp, ax_share) = plt.subplots(1, 3, figsize=(15, 4.8))
    x = range(len(rows))
    bottom = [0.0] * len(rows)
    colors = plt.get_cmap("tab10").colors
    for i, part in enumerate(PART_ORDER):
        vals = [r["parts"].get(part, 0.0) for r in rows]
        ax_abs.bar(x, vals, bottom=bottom, label=part, color=colors[i])
        totals = [r["total_mj"] or 1.0 for r in rows]
        ax_share.bar(x, [v / t for v, t in zip(vals, totals)], bottom=[b / t for b, t in zip(bottom, totals)], color=colors[i])
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax_abs.set_ylabel("mJ per attention block per inference")
    ax_abs.set_title("ours, by part")
    ax_abs.legend(fontsize=8)
    ours = [r["total_mj"] for r in rows]
    paper = [r["paper_total_mj"] if r["paper_total_mj"] is not None else float("nan") for r in rows]
    ax_cmp.bar([i - 0.2 for i in x], ours, width=0.4, label="ours")
    ax_cmp.bar([i + 0.2 for i in x], paper, width=0.4, label="paper")
    ax_cmp.set_yscale("log")
    ax_cmp.set_title("total: ours vs paper (log)")
    ax_cmp.legend(fontsize=8)
    ax_share.set_title("share of our total")
    for ax in (ax_abs, ax_cmp, ax_share):
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    cfg = rows[0].get("config", {}) if rows else {}
    fig.suptitle(f"energy per {cfg.get('scope', 'block')}: {cfg.get('geometry', '')}, seq len {cfg.get('seq_len', '')}, "
                 f"{cfg.get('table', '')}, ADC per {cfg.get('adc_per', '')}")
    fig.tight_layout()
    out = savefig_atomic(fig, path, dpi=120)
    plt.close(fig)
    return out
