"""Steps 4-7 of ``otters run``: verify, evaluate, energy, robustness of the converted student.

Exactness (Otters ICLR 2026, Proposition 1): the spiking BERT's logits must equal the QNN's bit for
bit on the nominal device; :func:`step_verify` checks every stage on a few sentences (the
hardware's compare-with-stepped-threshold firing) and :func:`step_evaluate` compares the logits of
every evaluated sentence while scoring teacher, QNN and SNN.
"""

from __future__ import annotations

from pathlib import Path

from otters.data.metrics import main_metric
from otters.io import atomic_write_json
from otters.pipeline.context import RunContext
from otters.pipeline.spikes import layer_histograms, record_sentence
from otters.pipeline.state import RunState
from otters.report.paper import hat_name
from otters.report.record import to_json
from otters.report.results import (
    CodingEnergy,
    Command,
    DegradationPointResult,
    DegradationSummary,
    EnergyResult,
    EvaluateResult,
    HatScores,
    LevelScores,
    MajorityScores,
    RobustnessEntry,
    RobustnessResult,
    Scores,
    SparsitySummary,
    VerifyStepResult,
)
from otters.snn.convert import convert
from otters.snn.mttfs.settings import DEFAULT_CODING
from otters.studies import inputs
from otters.studies.degradation import DegradationRequest, degradation_plot, degrade
from otters.studies.energy import checkpoint_energy, paper_energy_table
from otters.studies.evaluation import evaluate_checkpoint, majority_baseline, score_qnn_and_snn, score_teacher_subset
from otters.studies.robustness import robustness_plot, sweep
from otters.studies.sparsity import SparsityRequest, measure_sparsity
from otters.studies.verify import BertVerifyRequest, verify_bert_student


def _student(state: RunState) -> tuple[str, int]:
    d = state.result("distill")
    return d.student, int(d.max_len)


def step_verify(ctx: RunContext, state: RunState) -> VerifyStepResult:
    """Convert the student to a spiking BERT and verify it stage by stage (``otters verify``), then
    record one sentence's spikes through every layer (the report's raster). The student is loaded once."""
    student, max_len = _student(state)
    p = ctx.profile
    loaded = inputs.student(Path(student), None, "minilm-l6", None)
    verification = verify_bert_student(BertVerifyRequest(
        checkpoint=Path(student), sentences=p.verify_sentences, task=ctx.task, split=ctx.eval_split, max_len=max_len,
        simulator="threshold"), loaded)
    data = verification.to_dict()
    atomic_write_json(ctx.path("verify.json"), data)
    spikes = sum(t["spikes"] for t in data["traces"])
    neurons = sum(t["neurons"] * t["samples"] for t in data["traces"])
    model = loaded[0]
    texts_a, texts_b, source = inputs.sentences(1, ctx.task, ctx.eval_split)
    batch = inputs.tokenize(inputs.tokenizer_for(Path(student)), texts_a, texts_b, max_len, model.config.vocab_size)
    raster = record_sentence(convert(model), batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                             neurons=p.raster_neurons, seed=ctx.seed)
    raster["source"] = source
    atomic_write_json(ctx.path("raster.json"), raster)
    atomic_write_json(ctx.path("spike_histograms.json"), layer_histograms(data["traces"]))
    return VerifyStepResult(
        exact=data["exact"], simulator=data["simulator"], sentences=data["samples"],
        max_level_diff=data["max_level_diff"], max_potential_diff=data["max_potential_diff"],
        max_spikes_per_neuron=data["max_spikes_per_neuron"], first_inexact_layer=data["first_inexact_layer"],
        checks=len(data["layers"]), spikes=spikes, neurons=neurons, firing_rate=spikes / neurons if neurons else 0.0,
        windows=6 * raster["layers"] + 1, raster_tokens=raster["tokens"],
        files={"verify": "verify.json", "raster": "raster.json", "histograms": "spike_histograms.json"},
        commands=[Command("stage-by-stage verification (QNN vs SNN, threshold firing)",
                          ctx.command("verify", student, task=ctx.task, split=ctx.eval_split, batch=p.verify_sentences,
                                      max_len=max_len, simulator="threshold"))])


def step_evaluate(ctx: RunContext, state: RunState) -> EvaluateResult:
    """Score the teacher (fp), the student's QNN and its SNN on the evaluation split (GLUE metrics)."""
    student, _ = _student(state)
    teacher = state.result("teacher").dir
    rows = ctx.profile.eval_rows
    if rows is None:
        fp = evaluate_checkpoint(teacher, ctx.task, ctx.eval_split, "fp", ctx.data_dir)
        teacher_scores = Scores(fp["n"], fp["metrics"])
    else:  # a seeded subset (tests, smoke runs): same rows as the student's
        teacher_scores = Scores(**score_teacher_subset(teacher, ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed))
    both = score_qnn_and_snn(student, ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed)
    hats = {}
    for h in state.result("distill").hat_students:
        v = score_qnn_and_snn(h.student, ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed)
        hats[f"{h.hat:g}"] = HatScores(qnn=v["qnn"], snn=v["snn"], n=v["n"], logits_equal=v["logits_equal"])
    majority = majority_baseline(ctx.task, ctx.eval_split, ctx.data_dir, rows, ctx.seed)
    note = "" if rows is None else f" (this run scored a seeded subset of {rows} rows; the command scores the whole split)"
    result = EvaluateResult(
        split=ctx.eval_split, main_metric=main_metric(ctx.task), rows=rows, teacher=teacher_scores,
        majority=MajorityScores(majority["n"], majority["class"], majority["metrics"]) if majority else None,
        qnn=Scores(both["n"], both["qnn"]), snn=Scores(both["n"], both["snn"]), logits_equal=both["logits_equal"],
        max_abs_logit_diff=both["max_abs_logit_diff"], mismatched_rows=both["mismatched_rows"],
        student_max_len=both["max_len"], predicted_classes=both["predicted_classes"], hat=hats,
        commands=[
            Command("teacher accuracy" + note, ctx.command("eval", teacher, task=ctx.task, split=ctx.eval_split,
                                                           data_dir=ctx.data_dir)),
            Command("QNN accuracy" + note, ctx.command("eval", student, task=ctx.task, split=ctx.eval_split, mode="qnn",
                                                       data_dir=ctx.data_dir)),
            Command("SNN accuracy" + note, ctx.command("eval", student, task=ctx.task, split=ctx.eval_split, mode="snn",
                                                       data_dir=ctx.data_dir)),
        ])
    atomic_write_json(ctx.path("eval.json"), to_json(result))
    return result


def step_energy(ctx: RunContext, state: RunState) -> EnergyResult:
    """Operation audit of the spiking model on real sentences, priced with the 22 nm table (computation +
    data movement + analog; docs/energy.md, Yan et al. arXiv 2409.08290), beside the analytical table;
    and the silent-neuron ratios of its populations, plain TTFS vs M-TTFS (Matterhorn; ``otters sparsity``).
    The student is loaded once for both."""
    student, max_len = _student(state)
    p = ctx.profile
    loaded = inputs.student(Path(student), None, "minilm-l6", None)
    measured = checkpoint_energy(Path(student), ctx.task, ctx.eval_split, p.energy_sentences, max_len, p.energy_table,
                                 loaded=loaded)
    paper = paper_energy_table(p.energy_table)
    sparsity = measure_sparsity(SparsityRequest(
        checkpoint=Path(student), task=ctx.task, split=ctx.eval_split, calibration_split="train",
        samples=p.energy_sentences, calibration_samples=p.energy_sentences, dead_zones="0", seed=ctx.seed,
        max_len=max_len, data_dir=ctx.data_dir, metrics=False, energy=True), loaded)
    atomic_write_json(ctx.path("energy.json"), {"measured": measured, "paper_table": paper})
    atomic_write_json(ctx.path("sparsity.json"), sparsity)
    o = sparsity["overall"]
    codings = [CodingEnergy(coding=r["coding"], label=r["label"], silent=o[r["coding"]], silent_measured=r["silent"],
                            total_mj=r["total_mj"], parts=r["parts"], spikes=r["spikes"], device_reads=r["device_reads"],
                            conversions=r["conversions"], default=r["coding"] == DEFAULT_CODING)
               for r in sparsity["energy_per_inference"]]
    return EnergyResult(
        total_mj=measured["total_mj"], parts=measured["parts"], by_data=measured["by_data"], audit=measured["audit"],
        input=measured["input"], table=measured["table"],
        sparsity=SparsitySummary(samples=sparsity["model"]["samples"], split=ctx.eval_split,
                                 calibration_samples=sparsity["model"]["calibration_samples"], neurons=o["neurons"],
                                 ttfs=o["ttfs"], mttfs=o["mttfs"], sign_split=o["split"]),
        codings=codings,
        files={"energy": "energy.json", "sparsity": "sparsity.json"},
        commands=[
            Command("energy per inference (measured spikes)",
                    ctx.command("energy", student, task=ctx.task, split=ctx.eval_split, sentences=p.energy_sentences,
                                max_len=max_len, table=p.energy_table)),
            Command("operation audit (multiplications and spikes of the spiking path)",
                    ctx.command("audit", student, task=ctx.task, split=ctx.eval_split, sentences=p.energy_sentences,
                                max_len=max_len)),
            Command("analytical energy table beside the paper's",
                    ctx.command("energy", paper_table=True, table=p.energy_table, glue_env=False)),
            Command("silent neurons and energy per inference: offset TTFS vs sign-split TTFS vs M-TTFS",
                    ctx.command("sparsity", student, task=ctx.task, split=ctx.eval_split, samples=p.energy_sentences,
                                calibration_samples=p.energy_sentences, dead_zones="0", max_len=max_len, seed=ctx.seed,
                                no_metrics=True, energy=True, data_dir=ctx.data_dir)),
        ])


def step_robustness(ctx: RunContext, state: RunState) -> RobustnessResult:
    """Accuracy of each student's SNN on drawn chips (per-synapse and chip-level deviation of O(t), tau,
    beta; Otters Sec. 5); base vs HAT students on the same chips."""
    r = ctx.profile.robustness
    distilled = state.result("distill")
    students = [distilled.student] + [h.student for h in distilled.hat_students]
    result = sweep([Path(s) for s in students], ctx.task, list(r["levels"]), int(r["draws"]), list(r["kinds"]), ctx.seed,
                   ctx.eval_split, r["rows"], data_dir=ctx.data_dir, log=ctx.log)
    atomic_write_json(ctx.path("robustness.json"), result)
    roles = {label: hat_name(entry.get("hat")) for label, entry in result["checkpoints"].items()}
    # the figure names the curves by role (base, HAT2, ...); robustness.json keeps the command's labels
    named = dict(result, checkpoints={f"{roles[k]} ({k})": v for k, v in result["checkpoints"].items()})
    robustness_plot(named, ctx.path("robustness.png"))
    levels = ",".join(f"{v:g}" for v in r["levels"])
    degradation = _degradation(ctx, distilled.student) if ctx.profile.degradation else None
    entries = {k: RobustnessEntry(hat=v["hat"], role=roles[k], qnn=v["qnn"], nominal=v["nominal"], exact=v["exact"],
                                  results={kind: [LevelScores(**row) for row in rows]
                                           for kind, rows in v["results"].items()})
               for k, v in result["checkpoints"].items()}
    return RobustnessResult(
        metric=result["metric"], rows=result["rows"], levels=result["levels"], kinds=result["kinds"],
        draws=result["draws"], checkpoints=entries, files={"robustness": "robustness.json", "figure": "robustness.png"},
        commands=[Command("device-variation sweep" + (" (base vs HAT, same chips)" if len(students) > 1 else ""),
                          ctx.command("robustness", *students, task=ctx.task, split=ctx.eval_split, levels=levels,
                                      kinds=",".join(r["kinds"]), draws=r["draws"], rows=r["rows"], seed=ctx.seed,
                                      data_dir=ctx.data_dir))] + ([degradation.command] if degradation else []),
        degradation=degradation)


def _degradation(ctx: RunContext, student: str) -> DegradationSummary:
    """The base student on a chip degraded past the exactness envelope, one parameter at a time
    (``otters degrade``; the profile's ``degradation`` settings): degradation.json and its figure."""
    d = ctx.profile.degradation
    request = DegradationRequest(checkpoint=Path(student), task=ctx.task, split=ctx.eval_split,
                                 sentences=int(d["sentences"]), seed=ctx.seed,
                                 multiples=tuple(float(m) for m in d["multiples"]),
                                 bit_drops=tuple(int(b) for b in d["bit_drops"]), data_dir=ctx.data_dir)
    result = degrade(request, log=ctx.log)
    atomic_write_json(ctx.path("degradation.json"), result.to_dict())
    degradation_plot(result, ctx.path("degradation.png"))
    points = [DegradationPointResult(parameter=p.parameter, label=p.label, multiple=p.multiple, value=p.value,
                                     accuracy=p.accuracy, agreement=p.agreement, exact_sentences=p.exact_sentences,
                                     exact=p.exact, wrong_codes=p.wrong_codes, max_code_error=p.max_code_error)
              for p in result.points]
    multiples = ",".join(f"{m:g}" for m in request.multiples)
    bit_drops = ",".join(str(b) for b in request.bit_drops)
    return DegradationSummary(
        sentences=result.sentences, split=result.split, closed_form=result.closed_form, bounds=result.bounds,
        points=points, files={"degradation": "degradation.json", "figure": "degradation.png"},
        command=Command("accuracy beyond the exactness envelope (hardware-level simulator)",
                        ctx.command("degrade", student, task=ctx.task, split=ctx.eval_split,
                                    sentences=request.sentences, seed=ctx.seed, multiples=multiples,
                                    bit_drops=bit_drops, data_dir=ctx.data_dir)))
