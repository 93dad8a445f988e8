"""The attention ablation table (README / docs/vit.md) from per-attention experiment summaries.

Each summary is what ``otters vit train --json`` prints (otters.vit.experiment.summarise).
The comparison the issue asks for: does A2OS2A's difference from the binary (Spikformer) attention
exceed the seed spread? We call a difference of means larger than the spread when the two
mean +- std intervals do not overlap, |m_a - m_b| > s_a + s_b (s: sample std over seeds, n - 1);
with 3 seeds this is a coarse test, and the table says so instead of claiming significance. Beside
it, the two-sided p-value of Welch's t-test on the per-seed accuracies (scipy.stats.ttest_ind,
equal_var=False; None with fewer than 2 seeds on a side or zero spread on both).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import ttest_ind

from otters.errors import OttersError
from otters.io import read_json

ORDER = ("ann", "binary", "seed", "paper")
LABELS = {"ann": "ANN (softmax)", "binary": "binary (Spikformer)", "seed": "A²OS²A `seed`", "paper": "A²OS²A `paper`"}


def load_summaries(paths) -> list[dict]:
    """Read experiment summaries (JSON files); one per attention, in the canonical order."""
    found = {}
    for path in paths:
        summary = read_json(Path(path))
        if not isinstance(summary, dict) or "attention" not in summary or "test_accuracy" not in summary:
            raise OttersError(f"{path} is not an `otters vit train --json` summary")
        if summary["attention"] in found:
            raise OttersError(f"two summaries for attention {summary['attention']!r} ({path})")
        found[summary["attention"]] = summary
    return [found[a] for a in (*ORDER, *sorted(set(found) - set(ORDER))) if a in found]


def _energy(summary: dict, table: str) -> str:
    entry = summary.get("energy_per_image", {}).get(table)
    if not entry or entry.get("uJ_mean") is None:
        return "–"
    return f"{entry['uJ_mean']:.3g} µJ"


def _minutes(seconds) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def welch_p(x, y) -> float | None:
    """Two-sided p-value of Welch's t-test (unequal variances) on two samples; None when undefined."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or len(y) < 2 or (x.std() == 0 and y.std() == 0):
        return None
    return float(ttest_ind(x, y, equal_var=False).pvalue)


def compare(a: dict, b: dict) -> dict:
    """Difference of mean test accuracies (points), whether it exceeds the seed spread s_a + s_b, and
    Welch's p-value on the per-seed accuracies."""
    diff = 100 * (a["test_accuracy_mean"] - b["test_accuracy_mean"])
    spread = 100 * (a["test_accuracy_std"] + b["test_accuracy_std"])
    return {"a": a["attention"], "b": b["attention"], "diff_points": diff, "spread_points": spread,
            "exceeds_spread": abs(diff) > spread, "welch_p": welch_p(a["test_accuracy"], b["test_accuracy"]),
            "n": (len(a["test_accuracy"]), len(b["test_accuracy"]))}


def ablation_table(summaries: list[dict]) -> str:
    """Markdown: one row per attention (test accuracy mean +- std, ops and energy per image, time per
    run), then one line per A2OS2A preset saying whether its difference from binary exceeds the spread."""
    if not summaries:
        raise OttersError("no summaries to tabulate")
    lines = ["| attention | params | test accuracy (mean ± std, n) | attention ACs / image | attention MACs / image "
             "| all ACs / image | all MACs / image | energy / image 45 nm | energy / image 22 nm | longest run (min) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        n = len(s["test_accuracy"])
        flag = "" if s.get("complete", True) else " (incomplete)"
        lines.append(
            f"| {LABELS.get(s['attention'], s['attention'])} | {s.get('parameters') or '–'} "
            f"| {100 * s['test_accuracy_mean']:.2f} ± {100 * s['test_accuracy_std']:.2f} % (n = {n}){flag} "
            f"| {s['attn_acs_per_image_mean']:,.0f} | {s['attn_macs_per_image_mean']:,.0f} "
            f"| {s['acs_per_image_mean']:,.0f} | {s['macs_per_image_mean']:,.0f} "
            f"| {_energy(s, '45nm')} | {_energy(s, '22nm')} | {_minutes(s.get('run_wall_s_max'))} |")
    by_name = {s["attention"]: s for s in summaries}
    if "binary" in by_name:
        lines.append("")
        for name in ("seed", "paper"):
            if name not in by_name:
                continue
            c = compare(by_name[name], by_name["binary"])
            verdict = "exceeds" if c["exceeds_spread"] else "does not exceed"
            p_text = "" if c["welch_p"] is None else f"; Welch's t-test p = {c['welch_p']:.3f}"
            lines.append(f"- {LABELS[name]} − binary: {c['diff_points']:+.2f} points; seed spread (s_a + s_b) "
                         f"{c['spread_points']:.2f} points: the difference **{verdict}** the seed spread "
                         f"(n = {c['n'][0]} and {c['n'][1]} seeds{p_text}).")
    return "\n".join(lines)
