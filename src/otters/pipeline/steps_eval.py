"""Steps 4-7 of ``otters run``: verify, evaluate, energy, robustness of the converted student.

Exactness (Otters ICLR 2026, Proposition 1): the spiking BERT's logits must equal the QNN's bit for
bit on the nominal device; :func:`step_verify` checks every stage on a few sentences (the
hardware's compare-with-stepped-threshold firing) and :func:`step_evaluate` compares the logits of
every evaluated sentence while scoring teacher, QNN and SNN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from otters.io import atomic_write_json
from otters.pipeline import adapters
from otters.pipeline.context import RunContext
from otters.pipeline.state import RunState
from otters.report.paper import hat_name


def _student(state: RunState) -> tuple[str, int]:
    d = state.result("distill")
    return d["student"], int(d["max_len"])


def step_verify(ctx: RunContext, state: RunState) -> dict:
    """Convert the student to a spiking BERT and verify it stage by stage (``otters verify``), then
    record one sentence's spikes through every layer (the report's raster)."""
    from otters.pipeline.spikes import layer_histograms, record_sentence
    from otters.snn.convert import convert

    student, max_len = _student(state)
    p = ctx.profile
    result, description = adapters.verify_student(Path(student), ctx.task, ctx.eval_split, p.verify_sentences, max_len)
    data = result.to_dict()
    data["model"] = description
    atomic_write_json(ctx.path("verify.json"), data)
    spikes = sum(t["spikes"] for t in data["traces"])
    neurons = sum(t["neurons"] * t["samples"] for t in data["traces"])
    model, batch, source = adapters.load_sentences(Path(student), ctx.task, ctx.eval_split, 1, max_len)
    raster = record_sentence(convert(model), batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                             neurons=p.raster_neurons, seed=ctx.seed)
    raster["source"] = source
    atomic_write_json(ctx.path("raster.json"), raster)
    hist = layer_histograms(data["traces"])
    atomic_write_json(ctx.path("spike_histograms.json"), hist)
    return {
        "exact": data["exact"], "simulator": data["simulator"], "sentences": data["samples"],
        "max_level_diff": data["max_level_diff"], "max_potential_diff": data["max_potential_diff"],
        "max_spikes_per_neuron": data["max_spikes_per_neuron"], "first_inexact_layer": data["first_inexact_layer"],
        "checks": len(data["layers"]), "spikes": spikes, "neurons": neurons,
        "firing_rate": spikes / neurons if neurons else 0.0,
        "windows": 6 * raster["layers"] + 1, "raster_tokens": raster["tokens"],
        "files": {"verify": "verify.json", "raster": "raster.json", "histograms": "spike_histograms.json"},
        "commands": [{"what": "stage-by-stage verification (QNN vs SNN, threshold firing)",
                      "command": ctx.command("verify", student, task=ctx.task, split=ctx.eval_split,
                                             batch=p.verify_sentences, max_len=max_len, simulator="threshold")}],
    }


def score_qnn_and_snn(student, task: str, split: str, data_dir=None, rows: int | None = None, seed: int = 0,
                      batch_size: int = 64) -> dict:
    """Metrics of the student's QNN and of its spiking BERT on ``split``, from one pass over the rows.

    Both run on the same padded batches (``otters.data.tokenize.bucketed_batches``); the SNN's logits
    are compared with the QNN's bit for bit (Prop. 1). Returns {"n", "qnn", "snn", "logits_equal",
    "max_abs_logit_diff", "mismatched_rows"}.
    """
    from otters.data.metrics import compute_metrics
    from otters.data.splits import load_split, seeded_subset
    from otters.data.tasks import get_task
    from otters.data.tokenize import encode
    from otters.distill.checkpoint import load_student_checkpoint
    from otters.snn.convert import convert
    from otters.train.predict import predict_each

    spec = get_task(task)
    data = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    loaded = load_student_checkpoint(student)
    model, max_len = loaded.model.eval(), loaded.max_len
    enc = encode(loaded.tokenizer, data, max_len)
    qnn_out, snn_out = predict_each([model, convert(model)], enc, batch_size)
    diff = np.abs(qnn_out.astype(np.float64) - snn_out.astype(np.float64))
    return {"n": len(enc), "max_len": max_len,
            "qnn": compute_metrics(spec, qnn_out, enc.labels), "snn": compute_metrics(spec, snn_out, enc.labels),
            "logits_equal": bool(np.array_equal(qnn_out, snn_out)), "max_abs_logit_diff": float(diff.max()),
            "mismatched_rows": int((qnn_out != snn_out).any(axis=1).sum()),
            "predicted_classes": None if spec.regression else int(np.unique(snn_out.argmax(axis=1)).size)}


def majority_baseline(task: str, split: str, data_dir=None, rows: int | None = None, seed: int = 0) -> dict | None:
    """Metrics of always predicting the training split's most frequent class (None for regression):
    the floor a trained model must clear (a collapsed student scores exactly this)."""
    from otters.data.metrics import compute_metrics
    from otters.data.splits import load_split, seeded_subset
    from otters.data.tasks import get_task

    spec = get_task(task)
    if spec.regression:
        return None
    train = load_split(spec, "train", data_dir)
    majority = int(np.bincount(np.asarray(train.labels, dtype=np.int64), minlength=spec.num_labels).argmax())
    held = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    preds = np.full(len(held), majority, dtype=np.int64)
    return {"n": len(held), "class": spec.label_names[majority], "metrics": compute_metrics(spec, preds, held.labels)}


def step_evaluate(ctx: RunContext, state: RunState) -> dict:
    """Score the teacher (fp), the student's QNN and its SNN on the evaluation split (GLUE metrics)."""
    from otters.data.metrics import main_metric
    from otters.train.evaluate import evaluate_checkpoint

    student, _ = _student(state)
    teacher = state.result("teacher")["dir"]
    rows = ctx.profile.eval_rows
    if rows is None:
        fp = evaluate_checkpoint(teacher, ctx.task, ctx.eval_split, "fp", ctx.data_dir)
        teacher_scores = {"n": fp["n"], "metrics": fp["metrics"]}
    else:  # a seeded subset (tests, smoke runs): same rows as the student's
        teacher_scores = _teacher_subset(teacher, ctx, rows)
    both = score_qnn_and_snn(student, ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed)
    hats = {}
    for h in state.result("distill")["hat_students"]:
        hats[f"{h['hat']:g}"] = score_qnn_and_snn(h["student"], ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed)
    result = {"split": ctx.eval_split, "main_metric": main_metric(ctx.task), "rows": rows, "teacher": teacher_scores,
              "majority": majority_baseline(ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed),
              "qnn": {"n": both["n"], "metrics": both["qnn"]}, "snn": {"n": both["n"], "metrics": both["snn"]},
              "logits_equal": both["logits_equal"], "max_abs_logit_diff": both["max_abs_logit_diff"],
              "mismatched_rows": both["mismatched_rows"], "student_max_len": both["max_len"],
              "predicted_classes": both["predicted_classes"],
              "hat": {k: {"qnn": v["qnn"], "snn": v["snn"], "n": v["n"], "logits_equal": v["logits_equal"]}
                      for k, v in hats.items()}}
    note = "" if rows is None else f" (this run scored a seeded subset of {rows} rows; the command scores the whole split)"
    result["commands"] = [
        {"what": "teacher accuracy" + note, "command": ctx.command("eval", teacher, task=ctx.task, split=ctx.eval_split,
                                                                  data_dir=ctx.data_dir)},
        {"what": "QNN accuracy" + note, "command": ctx.command("eval", student, task=ctx.task, split=ctx.eval_split,
                                                              mode="qnn", data_dir=ctx.data_dir)},
        {"what": "SNN accuracy" + note, "command": ctx.command("eval", student, task=ctx.task, split=ctx.eval_split,
                                                              mode="snn", data_dir=ctx.data_dir)},
    ]
    atomic_write_json(ctx.path("eval.json"), result)
    return result


def _teacher_subset(teacher, ctx: RunContext, rows: int) -> dict:
    from otters.data.splits import load_split, seeded_subset
    from otters.data.tasks import get_task
    from otters.data.tokenize import encode, load_tokenizer
    from otters.io import read_json
    from otters.teacher.cache import TEACHER_FILE
    from otters.teacher.model import load_model
    from otters.train.predict import split_metrics

    spec = get_task(ctx.task)
    data = seeded_subset(load_split(spec, ctx.eval_split, ctx.data_dir), rows, ctx.seed)
    info = Path(teacher) / TEACHER_FILE
    max_len = (read_json(info).get("settings") or {}).get("max_len", 128) if info.is_file() else 128
    enc = encode(load_tokenizer(teacher), data, int(max_len))
    return {"n": len(enc), "metrics": split_metrics(load_model(teacher), spec, enc)}


def step_energy(ctx: RunContext, state: RunState) -> dict:
    """Operation audit of the spiking model on real sentences, priced with the 22 nm table (computation +
    data movement + analog; docs/energy.md, Yan et al. arXiv 2409.08290), beside the analytical table;
    and the silent-neuron ratios of its populations, plain TTFS vs M-TTFS (Matterhorn; ``otters sparsity``)."""
    student, max_len = _student(state)
    p = ctx.profile
    measured = adapters.measure_energy(Path(student), ctx.task, ctx.eval_split, p.energy_sentences, max_len,
                                       p.energy_table)
    paper = adapters.paper_energy_table(p.energy_table)
    sparsity = adapters.measure_sparsity(Path(student), ctx.task, ctx.eval_split, p.energy_sentences, max_len,
                                         ctx.seed, ctx.data_dir)
    atomic_write_json(ctx.path("energy.json"), {"measured": measured, "paper_table": paper})
    atomic_write_json(ctx.path("sparsity.json"), sparsity)
    o = sparsity["overall"]
    return {"total_mj": measured["total_mj"], "parts": measured["parts"], "by_data": measured["by_data"],
            "audit": measured["audit"], "input": measured["input"], "table": measured["table"],
            "sparsity": {"samples": sparsity["model"]["samples"], "split": ctx.eval_split,
                         "calibration_samples": sparsity["model"]["calibration_samples"], "neurons": o["neurons"],
                         "ttfs": o["ttfs"], "mttfs": o["mttfs"]},
            "files": {"energy": "energy.json", "sparsity": "sparsity.json"},
            "commands": [
                {"what": "energy per inference (measured spikes)",
                 "command": ctx.command("energy", student, task=ctx.task, split=ctx.eval_split,
                                        sentences=p.energy_sentences, max_len=max_len, table=p.energy_table)},
                {"what": "operation audit (multiplications and spikes of the spiking path)",
                 "command": ctx.command("audit", student, task=ctx.task, split=ctx.eval_split,
                                        sentences=p.energy_sentences, max_len=max_len)},
                {"what": "analytical energy table beside the paper's",
                 "command": ctx.command("energy", paper_table=True, table=p.energy_table, glue_env=False)},
                {"what": "silent neurons: plain TTFS vs M-TTFS",
                 "command": ctx.command("sparsity", student, task=ctx.task, split=ctx.eval_split,
                                        samples=p.energy_sentences, calibration_samples=p.energy_sentences,
                                        dead_zones="0", max_len=max_len, seed=ctx.seed, no_metrics=True,
                                        data_dir=ctx.data_dir)},
            ]}


def step_robustness(ctx: RunContext, state: RunState) -> dict:
    """Accuracy of each student's SNN on drawn chips (per-synapse and chip-level deviation of O(t), tau,
    beta; Otters Sec. 5); base vs HAT students on the same chips."""
    from otters.train.robustness import robustness_plot

    r = ctx.profile.robustness
    distilled = state.result("distill")
    students = [distilled["student"]] + [h["student"] for h in distilled["hat_students"]]
    result = adapters.robustness_sweep(students, ctx.task, ctx.eval_split, r["levels"], r["kinds"], r["draws"],
                                       r["rows"], ctx.seed, ctx.data_dir, ctx.log)
    atomic_write_json(ctx.path("robustness.json"), result)
    roles = {label: hat_name(entry.get("hat")) for label, entry in result["checkpoints"].items()}
    # the figure names the curves by role (base, HAT2, ...); robustness.json keeps the command's labels
    named = dict(result, checkpoints={f"{roles[k]} ({k})": v for k, v in result["checkpoints"].items()})
    robustness_plot(named, ctx.path("robustness.png"))
    levels = ",".join(f"{v:g}" for v in r["levels"])
    return {"metric": result["metric"], "rows": result["rows"], "levels": result["levels"], "kinds": result["kinds"],
            "draws": result["draws"],
            "checkpoints": {k: {"hat": v["hat"], "role": roles[k], "qnn": v["qnn"], "nominal": v["nominal"],
                                "exact": v["exact"], "results": v["results"]} for k, v in result["checkpoints"].items()},
            "files": {"robustness": "robustness.json", "figure": "robustness.png"},
            "commands": [{"what": "device-variation sweep" + (" (base vs HAT, same chips)" if len(students) > 1 else ""),
                          "command": ctx.command("robustness", *students, task=ctx.task, split=ctx.eval_split,
                                                 levels=levels, kinds=",".join(r["kinds"]), draws=r["draws"],
                                                 rows=r["rows"], seed=ctx.seed, data_dir=ctx.data_dir)}]}
