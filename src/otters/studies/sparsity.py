"""Silent neurons per population under TTFS, M-TTFS and M-TTFS with dead zones: what ``otters sparsity``
prints and the sparsity part of the ``energy`` step of ``otters run``.

Source: Matterhorn (arXiv 2601.22876): M-TTFS gives the silent state to each population's most
frequent level m; a dead zone |q - m| <= k silences more. Models: a BERT student checkpoint directory
(its ``coding.json`` dead zones applied), an untrained student built from HF weights, a QuantMLP
checkpoint, or a random MLP. Silent levels are calibrated on ``calibration_split`` (training data) and
ratios measured on ``split``; ``energy`` prices each coding per attention block (``otters.energy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from otters.data.splits import load_split
from otters.data.tasks import get_task
from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer
from otters.energy import FiringStats, Geometry, Hardware, model_energy
from otters.energy.audit_adapter import energy_from_audit, settings_from_hardware
from otters.errors import OttersError
from otters.models import student_from_hf
from otters.snn.audit import audit_activity
from otters.snn.bert.activity import BertActivity
from otters.snn.checkpoints import load_for_verify
from otters.snn.convert import convert
from otters.snn.mttfs.bert import silent_ratios
from otters.snn.mttfs.report import sparsity_report
from otters.snn.mttfs.stats import token_mask_fn
from otters.studies import inputs
from otters.studies.verify import random_mlp_case
from otters.train.predict import split_metrics


def parse_dead_zones(text: str) -> list[int]:
    """The sorted distinct half-widths k of "0,1,2" (each >= 0); OttersError names the expected form."""
    try:
        zones = sorted({int(v) for v in text.split(",") if v.strip() != ""})
    except ValueError:
        raise OttersError(f"--dead-zones takes comma-separated integers >= 0, e.g. 0,1,2,3,4; got {text!r}") from None
    if not zones or min(zones) < 0:
        raise OttersError(f"--dead-zones takes comma-separated integers >= 0, e.g. 0,1,2,3,4; got {text!r}")
    return zones


def _mlp_case(checkpoint, depth, width, bits, weight_bits, signed, residual, seed, batch):
    """(model, measurement batches, calibration batches, description) for a QuantMLP."""
    if checkpoint is None:
        model, x = random_mlp_case(depth, width, bits, weight_bits, signed, residual, seed, batch)
        calib = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 2))
        desc = {"kind": "random-mlp", "depth": depth, "width": width, "bits": bits, "signed": signed,
                "residual": residual, "seed": seed}
    else:
        model, make_inputs = load_for_verify(checkpoint)
        x, calib = make_inputs(batch, seed), make_inputs(batch, seed + 1)
        desc = {"kind": "checkpoint", "path": str(checkpoint), "seed": seed}
    return model, [x], [calib], desc


def _student_case(checkpoint, student, preset, task, split, calibration_split, samples, calibration_samples,
                  batch, max_len, data_dir, seed, loaded=None):
    """(model, batches, calibration batches, description, evaluate) for a BERT student on real sentences."""
    if task is None:
        raise OttersError("a BERT student needs --task (rt, sst2, ...) to read its sentences")
    spec = get_task(task)
    rng = np.random.default_rng(seed)

    def rows(split_name, n):
        examples = load_split(spec, split_name, data_dir)
        keep = np.sort(rng.permutation(len(examples))[: min(n, len(examples))])
        return examples.subset(keep)

    if checkpoint is not None:
        model, found = loaded or inputs.student(Path(checkpoint), None, "minilm-l6", None)  # with its coding.json
        tokenizer = inputs.tokenizer_for(Path(found["path"]))
        desc = {"kind": "student", "path": found["path"], "coding": found["coding"],
                "trained_dead_zone": found["dead_zone"]}
    else:
        torch.manual_seed(seed)  # the fresh classifier head and the calibration forwards' dropout
        model = student_from_hf(student, preset, num_labels=spec.num_labels,
                                problem_type="regression" if spec.regression else "classification")
        desc = {"kind": "untrained-student", "from": student, "preset": preset}
        tokenizer = load_tokenizer(None if student == "minilm-l6" else student)

    def batches_of(examples):
        enc = encode(tokenizer, examples, max_len)
        return enc, [collate(enc, r) for r in bucketed_batches(enc.lengths, batch, shuffle=False)]

    measured, batches = batches_of(rows(split, samples))
    _, calib = batches_of(rows(calibration_split, calibration_samples))
    if checkpoint is None:  # untrained: LSQ steps from a first batch, BSPN statistics from the calibration set
        model.train()
        with torch.no_grad():
            for b in calib:
                model(**{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
    model.eval()

    def evaluate(m):  # on the same length-bucketed batches as the measured ones
        return {} if measured.labels is None else split_metrics(m, spec, measured, batch)

    desc.update(task=spec.name, split=split, samples=len(measured), mean_tokens=float(measured.lengths.mean()),
                calibration_split=calibration_split,
                calibration_samples=sum(int(b["input_ids"].shape[0]) for b in calib), preset=model.config.preset)
    return model, batches, calib, desc, evaluate


def histogram_firing_stats(populations: list[dict], dead_zone: int, centred: bool, silent: int | None = None):
    """FiringStats from measured level histograms of the dead-zone-k QNN: signed 4-bit populations ->
    signed4, unsigned -> unsigned4 (otters.energy's two populations).

    ``centred`` (M-TTFS): each histogram is moved so its own silent level m lands on level 0, which is
    then the pooled mode the energy model silences: signed levels go to q - m (clipped at the range
    ends, where only non-zero deviations land), unsigned ones to |q - m| (clipped; the polarity of
    deviations below m is merged, which undercounts the column reads of the negative population).
    Per-channel silent levels are not moved. Raw histograms otherwise (plain TTFS: silent = qmin).
    ``silent`` (sign-split TTFS: 0): the level the masked populations leave silent, instead of the mode.
    """
    totals = {}
    for p in populations:
        qmin, qmax = p["qmin"], p["qmax"]
        key = {(-8, 7): "signed4", (0, 15): "unsigned4"}.get((qmin, qmax))
        if key is None:
            continue
        counts = np.asarray(p["dead_zone_histograms"][dead_zone], dtype=np.float64)
        if centred and isinstance(p["silent"], int):
            d = np.arange(qmin, qmax + 1) - p["silent"]
            target = np.clip(d, qmin, qmax) if qmin < 0 else np.minimum(np.abs(d), qmax)
            moved = np.zeros_like(counts)
            np.add.at(moved, target - qmin, counts)
            counts = moved
        totals[key] = totals.get(key, 0) + counts
    overrides = {k: {"qmin": -8 if k == "signed4" else 0, "histogram": v.tolist(), "silent": silent}
                 for k, v in totals.items()}
    return FiringStats.default().updated(overrides)


def _energy(result: dict, model) -> list[dict]:
    """Energy per attention block (otters.energy, 22 nm) from the measured histograms: Otters with plain
    TTFS, with sign-split TTFS (the M-TTFS hardware, a polarity per spike and each polarity read
    separately, silent at level 0), with M-TTFS and each dead zone, Matterhorn (M-TTFS + MSU) with each
    dead zone."""
    cfg = model.config
    geometry = Geometry("measured", cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads,
                        cfg.intermediate_size)
    seq_len = max(1, round(result["model"]["mean_tokens"]))
    kv = "1bitkv" if cfg.kv_bits == 1 else "4bitkv"
    rows = []

    def add(name, arch, stats, dead_zone):
        report = model_energy(arch, geometry, seq_len, stats=stats)
        rows.append({"model": name, "architecture": arch, "dead_zone": dead_zone, "total_mj": report.total_mj,
                     "parts": report.parts(), "seq_len": seq_len})

    add(f"otters-{kv} (TTFS)", f"otters-{kv}", histogram_firing_stats(result["populations"], 0, centred=False), None)
    add(f"otters-{kv} + split", f"otters-{kv}-mttfs",
        histogram_firing_stats(result["populations"], 0, centred=False, silent=0), None)
    for k in result["dead_zones"]:
        stats = histogram_firing_stats(result["populations"], k, centred=True)
        add(f"otters-{kv} + M-TTFS dz {k}", f"otters-{kv}-mttfs", stats, k)
        add(f"matterhorn dz {k}", "matterhorn", stats, k)
    return rows


# the lossless codings of a signed activation priced per inference (dead zone 0), with their labels
INFERENCE_CODINGS = (("ttfs", "offset TTFS"), ("split", "sign-split TTFS"), ("mttfs", "M-TTFS"))


def energy_per_inference(model, batches: list[dict], calibration: list[dict], table: str = "22nm",
                         hw: Hardware | None = None) -> list[dict]:
    """Energy per inference (mean over the sentences of ``batches``) of the student's spiking BERT under each
    coding of :data:`INFERENCE_CODINGS`: each is converted (M-TTFS silent levels from ``calibration``), run on
    the same sentences, its operations audited (``otters.snn.audit``: column reads per (step, polarity) pair
    for the masked codings, the negative sub-population subtracted) and priced (``otters.energy``: a masked
    spike's address event carries its polarity). Rows: coding, label, total_mj, parts, by_data, spikes,
    device_reads and ADC conversions per inference, silent (1 - spikes / neuron evaluations of the run)."""
    hw = hw or Hardware()
    settings = settings_from_hardware(hw)
    rows = []
    for coding, label in INFERENCE_CODINGS:
        snn = convert(model, adc_bits=hw.adc_bits, coding=coding, calibration=calibration if coding == "mttfs" else None)
        activity = BertActivity(settings.column_rows)
        for b in batches:
            snn(b["input_ids"], b["attention_mask"], b["token_type_ids"], activity=activity)
        audit = audit_activity(snn, activity, settings)
        report = energy_from_audit(audit, table, hw, model=label)
        data = audit.to_dict()
        per = float(data["sentences"])
        spiking = [row for row in data["blocks"] if row["path"] == "spiking"]
        rows.append({"coding": coding, "label": label, "snn_coding": snn.coding, "total_mj": report.total_mj,
                     "parts": report.parts(), "by_data": report.by_data(), "table": report.table,
                     "sentences": int(per), "mean_tokens": audit.tokens / per,
                     "spikes": sum(row["spikes"] for row in spiking) / per,
                     "device_reads": sum(row["device_reads"] for row in spiking) / per,
                     "conversions": sum(sum(row["adc_bits"].values()) for row in spiking) / per,
                     "silent": silent_ratios(activity)["overall"]})
    return rows


@dataclass(frozen=True)
class SparsityRequest:
    """One sparsity measurement. The model: exactly one of ``checkpoint`` (a BERT student folder or a
    QuantMLP .safetensors), ``random_mlp`` (shape ``depth`` x ``width``, ``bits``, ``weight_bits``,
    ``signed``, ``residual``), ``student`` (an untrained ``preset`` student from HF weights: minilm-l6
    or a BERT folder). A BERT student reads ``samples`` seeded rows of ``task``'s ``split`` (silent levels
    from ``calibration_samples`` rows of ``calibration_split``); ``metrics`` scores the task per dead
    zone, ``energy`` prices each coding per attention block (from the histograms) and per inference (offset TTFS,
    split, M-TTFS at dead zone 0: each spiking BERT run on the measured sentences and audited)."""

    checkpoint: Path | None = None
    random_mlp: bool = False
    student: str | None = None
    preset: str = "otters-1bitkv"
    task: str | None = None
    split: str = "validation"
    calibration_split: str = "train"
    samples: int = 256
    calibration_samples: int = 256
    dead_zones: str = "0,1,2,3,4"
    granularity: str = "layer"
    depth: int = 3
    width: int = 64
    bits: int = 4
    weight_bits: int = 1
    signed: bool = True
    residual: bool = False
    seed: int = 0
    batch: int = 32
    max_len: int = 128
    data_dir: Path | None = None
    metrics: bool = True
    energy: bool = False

    def __post_init__(self):
        for option, value in (("--samples", self.samples), ("--calibration-samples", self.calibration_samples),
                              ("--batch", self.batch), ("--max-len", self.max_len), ("--depth", self.depth),
                              ("--width", self.width)):
            if value < 1:
                raise OttersError(f"{option} must be at least 1, got {value}")


def measure_sparsity(request: SparsityRequest, loaded: tuple | None = None) -> dict:
    """What ``otters sparsity`` prints, as a JSON-ready dict: {"model": description, "dead_zones",
    "granularity", "populations", "overall", "metrics"?, "energy"?} (``SparsityReport.to_dict``). ``loaded``:
    the (model, description) of ``inputs.student(checkpoint, ...)`` of a student checkpoint, when the caller
    has it already."""
    r = request
    torch.set_num_threads(min(2, torch.get_num_threads()))
    zones = parse_dead_zones(r.dead_zones)
    if sum([r.checkpoint is not None, bool(r.random_mlp), r.student is not None]) != 1:
        raise OttersError("give exactly one of: a checkpoint, --random-mlp, or --student (e.g. minilm-l6)")
    is_student = r.student is not None or (r.checkpoint is not None and Path(r.checkpoint).is_dir())
    if is_student:
        model, batches, calib, desc, evaluate = _student_case(
            r.checkpoint, r.student, r.preset, r.task, r.split, r.calibration_split, r.samples, r.calibration_samples,
            r.batch, r.max_len, r.data_dir, r.seed, loaded if r.checkpoint is not None else None)
        report = sparsity_report(
            model, batches, lambda m, b: m(**{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}),
            dead_zones=zones, granularity=r.granularity, calibration=calib,
            batch_mask=lambda b: token_mask_fn(b["attention_mask"]), evaluate=evaluate if r.metrics else None)
        if r.energy:
            result = {"model": desc, **report.to_dict()}
            result["energy"] = _energy(result, model)
            result["energy_per_inference"] = energy_per_inference(model, batches, calib)
            return result
    else:
        if r.energy:
            raise OttersError("--energy prices a BERT student's stages; it has no architecture for an MLP")
        model, batches, calib, desc = _mlp_case(r.checkpoint, r.depth, r.width, r.bits, r.weight_bits, r.signed,
                                                r.residual, r.seed, r.batch)
        report = sparsity_report(model, batches, dead_zones=zones, granularity=r.granularity, calibration=calib)
    return {"model": desc, **report.to_dict()}
