"""The Matterhorn k table (``otters matterhorn-table``): per dead-zone half-width k, silent ratio, SNN accuracy and energy.

Source: Matterhorn (arXiv 2601.22876): M-TTFS gives the silent state to the most frequent level, a
dead zone of half-width k (|q - m| <= k -> silent; docs/matterhorn.md section 3) silences more, at
an accuracy cost ("95.2 % silent at k = 3"); here on Otters' optoelectronic TTFS BERT (ICLR 2026).

For a trained student checkpoint, on ``split`` of its task:

- reference row (coding "ttfs"): the checkpoint's plain QNN converted to plain TTFS;
- one row per k: the checkpoint with M-TTFS silent levels calibrated on ``calibration_samples`` seeded
  training sentences and the dead zone k (k = 0: lossless M-TTFS), optionally fine-tuned with that
  dead zone for ``finetune_steps`` distillation steps from its teacher (``otters distill --init``).

Every row runs the converted spiking BERT on the sentences and reports what it measured: the silent
ratio (1 - spikes / neurons over the firing populations, real tokens only; overall and per layer),
the task metric of the SNN, whether its logits equal the QNN's bit for bit, and the energy per
attention block from ``otters.energy.model_energy`` priced with the firing statistics of that run
(the spikes' (step, polarity) histograms: TTFS rows as offset codes, M-TTFS rows centred on each
population's silent level): ``otters-<kv>-mttfs`` and ``matterhorn`` (M-TTFS + MSU) at dead zone k,
beside the reference row's ``otters-<kv>`` (plain TTFS) energy of the same checkpoint. The audited
energy of the whole run (``otters energy CKPT``'s measure, per inference) is reported too.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch

from otters.coding.mttfs import check_dead_zone
from otters.data.metrics import compute_metrics, main_metric
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import get_task
from otters.data.tokenize import bucketed_batches, collate, encode
from otters.distill.checkpoint import RUN_FILE, load_student_checkpoint
from otters.distill.coding import calibration_batches
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.energy import FiringStats, Geometry, Hardware, model_energy
from otters.energy.audit_adapter import energy_from_audit, settings_from_hardware
from otters.errors import OttersError
from otters.io import savefig_atomic
from otters.models import load_student
from otters.snn.audit import audit_activity, firing_populations
from otters.snn.bert import BertActivity
from otters.snn.convert import convert
from otters.snn.mttfs import calibrate_silent, configure_coding, load_coded_student
from otters.snn.mttfs.bert import silent_ratios
from otters.train.common import set_threads

_POPULATION_KINDS = {(-8, 7): "signed4", (0, 15): "unsigned4"}


def firing_stats(activity, snn, centred: bool):
    """otters.energy FiringStats from a spiking BERT run: the 4-bit signed / unsigned firing populations
    (stored K / V excluded) pooled into signed4 / unsigned4 level histograms.

    ``centred`` (M-TTFS): the deviation d = (q - m) of each spike (polarity x code) is placed at level
    d (signed populations, clipped into [-8, 7]) or |d| (unsigned, clipped at 15), so the pooled mode is
    the silent level 0 (as ``otters sparsity --energy`` does with QNN histograms); plain TTFS: the
    offset code d = q - qmin at level qmin + d.
    """
    firings = firing_populations(snn)
    totals: dict[str, np.ndarray] = {}
    for p in activity.populations.values():
        if p.name.endswith((".k_quant", ".v_quant")):
            continue
        pop = firings[p.name].pop
        key = _POPULATION_KINDS.get((pop.qmin, pop.qmax))
        if key is None:
            continue
        counts = np.zeros(pop.qmax - pop.qmin + 1)
        T = p.T
        for index, n in enumerate(p.deviation_histogram()):
            d = index - T
            if not n:
                continue
            if not centred:
                level = pop.qmin + d
            elif pop.qmin < 0:
                level = int(np.clip(d, pop.qmin, pop.qmax))
            else:
                level = min(abs(d), pop.qmax)
            counts[level - pop.qmin] += n
        totals[key] = totals.get(key, 0) + counts
    return FiringStats.default().updated({k: {"qmin": -8 if k == "signed4" else 0, "histogram": v.tolist()}
                                          for k, v in totals.items()})


def run_snn(model, snn, encoded, batch_size: int = 32):
    """(QNN logits, SNN logits, BertActivity) over every encoded row (original order)."""
    activity = BertActivity()
    qnn = np.zeros((len(encoded), model.config.num_labels), dtype=np.float32)
    out = np.zeros_like(qnn)
    model.eval()
    with torch.no_grad():
        for idx in bucketed_batches(encoded.lengths, batch_size, shuffle=False):
            b = collate(encoded, idx)
            ids, mask, types = b["input_ids"], b["attention_mask"], b["token_type_ids"]
            qnn[idx] = model(ids, mask, types).logits.float().numpy()
            out[idx] = snn(ids, mask, types, activity=activity).logits.float().numpy()
    return qnn, out, activity


def _per_layer(ratios: dict) -> dict:
    """Neuron-weighted silent ratio of each encoder layer's populations (and the pooler's)."""
    groups: dict[str, list] = {}
    for name, r in ratios["populations"].items():
        parts = name.split(".")
        key = f"layer {parts[2]}" if parts[1] == "layers" else "pooler"
        groups.setdefault(key, []).append(r)
    return {k: 1.0 - sum(r["spikes"] for r in v) / max(sum(r["neurons"] for r in v), 1) for k, v in groups.items()}


def measure_row(model, spec, encoded, label: str, dead_zone, table="22nm", batch_size: int = 32) -> dict:
    """Convert ``model`` (with its configured coding), run it, and measure one row of the table."""
    started = time.perf_counter()
    snn = convert(model)
    qnn_logits, snn_logits, activity = run_snn(model, snn, encoded, batch_size)
    metric = main_metric(spec)
    ratios = silent_ratios(activity)
    cfg = model.config
    geometry = Geometry("measured", cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads,
                        cfg.intermediate_size)
    seq_len = max(1, round(activity.tokens / max(activity.sentences, 1)))
    kv = "1bitkv" if cfg.kv_bits == 1 else "4bitkv"
    hw = Hardware()
    row = {"label": label, "coding": snn.coding, "dead_zone": dead_zone, "silent": ratios["overall"],
           "silent_per_layer": _per_layer(ratios),
           "silent_per_population": {n: r["silent"] for n, r in ratios["populations"].items()},
           "snn_" + metric: float(compute_metrics(spec, snn_logits, encoded.labels)[metric]),
           "qnn_" + metric: float(compute_metrics(spec, qnn_logits, encoded.labels)[metric]),
           "exact": bool(np.array_equal(qnn_logits, snn_logits)), "seq_len": seq_len}
    if snn.coding == "ttfs":
        stats = firing_stats(activity, snn, centred=False)
        row["energy_mj"] = model_energy(f"otters-{kv}", geometry, seq_len, table, hw, stats).total_mj
        row["architecture"] = f"otters-{kv}"
    else:
        stats = firing_stats(activity, snn, centred=True)
        k = int(dead_zone or 0)
        row["energy_mj"] = model_energy(f"otters-{kv}-mttfs", geometry, seq_len, table, hw, stats, k).total_mj
        row["matterhorn_mj"] = model_energy("matterhorn", geometry, seq_len, table, hw, stats, k).total_mj
        row["architecture"] = f"otters-{kv}-mttfs"
    audit = audit_activity(snn, activity, settings_from_hardware(hw))
    row["audited_mj_per_inference"] = energy_from_audit(audit, table, hw).total_mj
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def _dead_zone_student(base, checkpoint, k: int, finetune_steps: int, silent: dict, ft: dict, log):
    """The student of row k: ``base`` + M-TTFS with the ``silent`` levels + dead zone k, or fine-tuned with
    it (``otters distill --init``, which calibrates its own levels on the same seeded training sentences)."""
    if finetune_steps > 0:
        log(f"dz {k}: fine-tuning {finetune_steps} steps")
        settings = DistillSettings(ft["task"], None, init=str(checkpoint), stages="single", coding="mttfs",
                                   dead_zone=k, max_steps=finetune_steps, epochs=1, eval_every=finetune_steps,
                                   batch_size=ft["batch_size"], lr=ft["lr"], max_len=ft["max_len"], seed=ft["seed"],
                                   calibration_rows=ft["calibration_rows"])
        work = Path(ft["work_dir"]) / f"dz{k}"
        out = distill(settings, ft["teacher"], out_dir=work, resume=(work / RUN_FILE).is_file(),
                      data_dir=ft["data_dir"], threads=ft["threads"], progress=False, log=log)
        return load_coded_student(out)
    model = copy.deepcopy(base)
    configure_coding(model, "mttfs", k, silent=silent)
    return model


def matterhorn_table(checkpoint, task: str | None = None, dead_zones=(0, 1, 2, 3, 4), finetune_steps: int = 0,
                     split: str = "test", samples: int | None = None, calibration_samples: int = 256,
                     batch_size: int = 32, seed: int = 0, table: str = "22nm", teacher=None, work_dir=None,
                     data_dir=None, finetune_batch_size: int = 32, finetune_lr: float = 5e-5, threads: int = 1,
                     log=None) -> list[dict]:
    """The rows of the k table (module docstring): the TTFS reference first, then one row per k."""
    log = log or (lambda msg: None)
    zones = sorted({check_dead_zone(int(k)) for k in dead_zones})
    if not zones:
        raise OttersError("give at least one dead zone (e.g. 0,1,2,3,4)")
    if finetune_steps < 0:
        raise OttersError(f"--finetune-steps must be >= 0, got {finetune_steps}")
    set_threads(threads)
    student = load_student_checkpoint(checkpoint)
    tokenizer, max_len, path = student.tokenizer, student.max_len, student.path
    settings = student.settings
    spec = get_task(task or settings.get("task") or _missing_task(path))
    base = load_student(path).eval()  # the checkpoint's plain QNN (its own coding.json, if any, is not applied)
    rows = load_split(spec, split, data_dir)
    if rows.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels; use --split validation")
    rows = seeded_subset(rows, samples, seed)
    encoded = encode(tokenizer, rows, max_len)
    silent = None
    if finetune_steps == 0:  # the checkpoint's silent levels, from the same seeded sentences as otters distill's
        calibration = calibration_batches(encode(tokenizer, load_split(spec, "train", data_dir), max_len),
                                          calibration_samples, seed + 7, batch_size)
        silent = calibrate_silent(base, calibration)
    name = path.parent.name if path.name == "student" else path.name
    ft = {"task": spec.name, "teacher": teacher if teacher is not None else settings.get("teacher"),
          "work_dir": work_dir or Path("runs") / f"matterhorn-table-{spec.name}-{name}",
          "batch_size": finetune_batch_size, "lr": finetune_lr, "max_len": max_len, "data_dir": data_dir,
          "threads": threads, "seed": seed, "calibration_rows": calibration_samples}
    context = {"checkpoint": str(path), "task": spec.name, "split": split, "samples": len(rows),
               "finetune_steps": finetune_steps, "table": table}
    with torch.no_grad():
        log("reference: plain TTFS")
        reference = {**context, **measure_row(base, spec, encoded, "otters TTFS", None, table, batch_size),
                     "finetune_steps": 0}
    out = [reference]
    for k in zones:
        model = _dead_zone_student(base, path, k, finetune_steps, silent, ft, log)
        with torch.no_grad():
            row = {**context, **measure_row(model, spec, encoded, f"M-TTFS dz {k}", k, table, batch_size)}
        row["ttfs_energy_mj"] = reference["energy_mj"]
        row["energy_vs_ttfs"] = row["energy_mj"] / reference["energy_mj"]
        metric = next(key for key in reference if key.startswith("snn_"))
        row["delta_" + metric[4:]] = row[metric] - reference[metric]
        log(f"dz {k}: silent {row['silent']:.4f}, {metric} {row[metric]:.4f}, {row['energy_mj']:.5g} mJ/block")
        out.append(row)
    return out


def _missing_task(path) -> str:
    raise OttersError(f"{path} does not record its task; pass --task")


def table_plot(rows: list[dict], path) -> Path:
    """Silent ratio and SNN metric (left), energy per block (right) versus k, TTFS reference dashed."""
    # matplotlib is heavy and only needed for the figure
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ref, coded = rows[0], rows[1:]
    ks = [r["dead_zone"] for r in coded]
    metric = next(key for key in ref if key.startswith("snn_"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(ks, [100 * r["silent"] for r in coded], marker="o", label="silent neurons (M-TTFS)")
    left.axhline(100 * ref["silent"], ls="--", color="gray", label="silent neurons (TTFS)")
    left.plot(ks, [100 * r[metric] for r in coded], marker="s", label=f"SNN {metric[4:]}")
    left.axhline(100 * ref[metric], ls=":", color="gray", label=f"TTFS {metric[4:]}")
    left.set_xlabel("dead zone k")
    left.set_ylabel("%")
    left.legend(fontsize=7)
    right.plot(ks, [r["energy_mj"] for r in coded], marker="o", label=coded[0]["architecture"] if coded else "")
    if coded and "matterhorn_mj" in coded[0]:
        right.plot(ks, [r["matterhorn_mj"] for r in coded], marker="^", label="matterhorn (MSU)")
    right.axhline(ref["energy_mj"], ls="--", color="gray", label=f"{ref['architecture']} (TTFS)")
    right.set_xlabel("dead zone k")
    right.set_ylabel(f"mJ per attention block ({ref['table']}, {ref['seq_len']} tokens)")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    steps = coded[0]["finetune_steps"] if coded else 0
    fig.suptitle(f"{ref['task']} {ref['split']} ({ref['samples']} sentences); dead-zone students "
                 + (f"fine-tuned {steps} steps" if steps else "not fine-tuned"), fontsize=9)
    fig.tight_layout()
    out = savefig_atomic(fig, path, dpi=150)
    plt.close(fig)
    return out
