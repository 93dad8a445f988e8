"""Robustness of a converted student to device variation (Otters, ICLR 2026, Sec. 5), base vs HAT.

The student's spiking stages (``otters.models.spiking_stages``) are run as the SNN runs them on a
chip: each input neuron's level becomes a spike step k (``otters.snn.population_from_quantizer``),
the spike is read through the chip's device and ADC (``otters.snn.DeviceTables``: a_k from the chip
curve at the nominal instants t_k), and the integer accumulator is integrated from those readings
(``otters.snn.spiking_accumulator``, per-synapse deviations included). On the nominal device this is
exactly the QNN's accumulator (Proposition 1), which :func:`sweep` checks before it perturbs anything.

Variation kinds (each level is a relative standard deviation, several seeded draws per level):
``synapse``: each stored synapse's O(t) scaled by (1 + d_ij), d_ij ~ N(0, level^2), fixed per chip;
``output``: the chip's O(t) scaled by g ~ N(1, level^2); ``tau`` / ``beta``: the chip's time
constant / stretching exponent scaled by N(1, level^2) while the controller keeps the nominal clock.
Per-synapse deviations apply to stages with stored weights (linear layers); the attention products
(Q K^T, P V), whose operands are activations held in PE-local storage, see the chip-level kinds only.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from rich.table import Table

from otters.data.metrics import compute_metrics, main_metric
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import get_task
from otters.data.tokenize import encode
from otters.device import PAPER_CURVE
from otters.distill.checkpoint import load_student_checkpoint
from otters.errors import OttersError
from otters.io import savefig_atomic
from otters.limits import MAX_VARIATION_DRAWS, check_at_most
from otters.models import spiking_stages
from otters.snn import DeviceVariation, draw_variation, spiking_accumulator
from otters.state_schema import read_distill_state
from otters.train.predict import predict_logits

KINDS = ("synapse", "output", "tau", "beta")
DEFAULT_LEVELS = tuple(round(0.02 * i, 2) for i in range(11))


def variation_for(kind: str, level: float, curve, seed: int):
    """The drawn chip (otters.snn.DeviceVariation) of one variation kind at one level."""
    if kind not in KINDS:
        raise OttersError(f"unknown variation kind {kind!r}; choose from {', '.join(KINDS)}")
    if level == 0:
        return DeviceVariation()
    arg = {"synapse": "synapse_rel_std", "output": "rel_output", "tau": "rel_tau", "beta": "rel_beta"}[kind]
    return draw_variation(curve, seed=seed, **{arg: float(level)})


@contextlib.contextmanager
def on_device(model, curve=None, adc_bits: int = 8, variation=None):
    """Within the block, ``model``'s eval forward integrates every spiking stage through the device.

    Source: Otters (ICLR 2026) Proposition 1 (spike at t_k reads gamma * O(t_k) through the ADC);
    hooks of ``otters.models.stages.SpikingStage.set_accumulator``; previous hooks restored on exit.
    """
    stages = spiking_stages(model)
    previous = [getattr(s.owner, s.hook) for s in stages]
    try:
        for index, stage in enumerate(stages):
            synapse_index = index if stage.kind == "linear" else None  # stored weights have devices of their own
            stage.set_accumulator(spiking_accumulator(stage.input_quant, curve, adc_bits, variation, stage.name,
                                                      synapse_index))
        yield model
    finally:
        for stage, prev in zip(stages, previous):
            stage.set_accumulator(prev)


def sweep(checkpoints, task: str, levels=DEFAULT_LEVELS, draws: int = 3, kinds=KINDS, seed: int = 0,
          split: str = "validation", rows: int | None = None, curve=None, adc_bits: int = 8, data_dir=None,
          log=None) -> dict:
    """Main metric of each checkpoint's SNN under each (kind, level, draw); same chips for every checkpoint.

    Returns {"task", "split", "metric", "levels", "kinds", "draws", "rows", "checkpoints": {label:
    {"path", "hat", "qnn", "nominal", "exact", "results": {kind: [{"level", "values", "mean", "std"}]}}}}.
    The level-0 row is the nominal chip, evaluated once; ``exact`` says its logits equal the QNN's bit for bit.
    """
    log = log or (lambda msg: None)
    spec = get_task(task)
    levels = sorted({float(v) for v in levels})
    if not levels or levels[0] < 0 or draws < 1:
        raise OttersError("levels must be >= 0 and draws >= 1")
    check_at_most(draws, MAX_VARIATION_DRAWS, "--draws", "each draw runs the spiking model over every row for each "
                  "level and kind, and 100 draws already put the standard error of the mean under a tenth of the spread")
    for kind in kinds:
        variation_for(kind, 0.0, curve, 0)  # validates the names before any work
    metric = main_metric(spec)
    data = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    if data.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels; use --split validation")
    curve = PAPER_CURVE if curve is None else curve
    out = {"task": spec.name, "split": split, "metric": metric, "levels": levels, "kinds": list(kinds),
           "draws": draws, "rows": len(data), "adc_bits": adc_bits, "checkpoints": {}}
    for path in checkpoints:
        student = load_student_checkpoint(path)
        model, meta = student.model, student.meta
        enc = encode(student.tokenizer, data, student.max_len)
        score = lambda logits: float(compute_metrics(spec, logits, data.labels)[metric])  # noqa: E731
        qnn_logits = predict_logits(model, enc)
        with on_device(model, curve, adc_bits):
            nominal_logits = predict_logits(model, enc)
        entry = {"path": str(path), "hat": (meta.get("settings") or {}).get("hat"), "qnn": score(qnn_logits),
                 "nominal": score(nominal_logits), "exact": bool(np.array_equal(qnn_logits, nominal_logits)),
                 "results": {}}
        for k_index, kind in enumerate(kinds):
            rows_out = []
            for l_index, level in enumerate(levels):
                values = []
                for draw in range(1 if level == 0 else draws):
                    if level == 0:
                        values.append(entry["nominal"])
                        continue
                    chip_seed = int(np.random.SeedSequence([seed, k_index, l_index, draw]).generate_state(1)[0])
                    with on_device(model, curve, adc_bits, variation_for(kind, level, curve, chip_seed)):
                        values.append(score(predict_logits(model, enc)))
                rows_out.append({"level": level, "values": values, "mean": float(np.mean(values)),
                                 "std": float(np.std(values))})
                log(f"{Path(path).name} {kind} {level:.2f}: {metric} {np.mean(values):.4f}")
            entry["results"][kind] = rows_out
        out["checkpoints"][_label(path, out["checkpoints"])] = entry
    return out


def recorded_task(checkpoints) -> str:
    """The task the first of ``checkpoints`` (student folders or distill run folders) records."""
    for ckpt in checkpoints:
        for candidate in (Path(ckpt) / "distill.json", Path(ckpt) / "student" / "distill.json"):
            if candidate.is_file():
                task = read_distill_state(candidate)["settings"].get("task")
                if task:
                    return task
    raise OttersError("the checkpoints do not record their task; pass --task")


def _label(path, taken: dict) -> str:
    path = Path(path)
    name = path.parent.name if path.name == "student" else path.name
    label, i = name, 2
    while label in taken:
        label, i = f"{name}-{i}", i + 1
    return label


def robustness_table(result: dict):
    """A rich Table: one row per (kind, level), one column per checkpoint, mean +- std of the metric."""
    labels = list(result["checkpoints"])
    table = Table(title=f"{result['task']} {result['split']} {result['metric']} under device variation "
                        f"({result['draws']} draws, {result['rows']} rows)")
    table.add_column("kind")
    table.add_column("level", justify="right")
    for label in labels:
        table.add_column(label, justify="right")
    for kind in result["kinds"]:
        for i, level in enumerate(result["levels"]):
            cells = []
            for label in labels:
                r = result["checkpoints"][label]["results"][kind][i]
                cells.append(f"{r['mean']:.4f}" + (f" ± {r['std']:.4f}" if len(r["values"]) > 1 else ""))
            table.add_row(kind, f"{level:.2f}", *cells)
    return table


def robustness_plot(result: dict, path: str | os.PathLike) -> Path:
    """Metric versus deviation level, one panel per kind, one line (mean, std band) per checkpoint."""
    # matplotlib is heavy and only needed for the figure
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = result["kinds"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4 * len(kinds), 3.4), squeeze=False, sharey=True)
    levels = np.asarray(result["levels"]) * 100
    for ax, kind in zip(axes[0], kinds):
        for label, entry in result["checkpoints"].items():
            mean = np.array([r["mean"] for r in entry["results"][kind]])
            std = np.array([r["std"] for r in entry["results"][kind]])
            ax.plot(levels, mean, marker="o", ms=3, label=label)
            ax.fill_between(levels, mean - std, mean + std, alpha=0.2)
        ax.set_title(f"{kind} deviation")
        ax.set_xlabel("relative deviation (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{result['task']} {result['metric']}")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    out = savefig_atomic(fig, path, dpi=150)
    plt.close(fig)
    return out
