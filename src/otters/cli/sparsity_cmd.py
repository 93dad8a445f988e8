"""``otters sparsity``: silent-neuron ratios per population under TTFS, M-TTFS and M-TTFS with dead zones.

Thin wrapper over :func:`otters.snn.mttfs.report.sparsity_report` (Matterhorn, arXiv 2601.22876).
Models: a BERT student checkpoint directory (``--task`` gives the sentences; its ``coding.json``
dead zones are applied), an untrained student built from HF weights (``--student minilm-l6``), a
QuantMLP checkpoint, or ``--random-mlp``. Silent levels are calibrated on ``--calibration-split``
(training data) and ratios measured on ``--split``. Heavy imports stay inside the functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _dead_zones(text: str) -> list[int]:
    from otters.errors import OttersError

    try:
        zones = sorted({int(v) for v in text.split(",") if v.strip() != ""})
    except ValueError:
        raise OttersError(f"--dead-zones takes comma-separated integers >= 0, e.g. 0,1,2,3,4; got {text!r}") from None
    if not zones or min(zones) < 0:
        raise OttersError(f"--dead-zones takes comma-separated integers >= 0, e.g. 0,1,2,3,4; got {text!r}")
    return zones


def _mlp_case(checkpoint, depth, width, bits, weight_bits, signed, residual, seed, batch):
    """(model, measurement batches, calibration batches, description) for a QuantMLP."""
    import torch

    if checkpoint is None:
        from otters.cli.verify_cmd import _random_model

        model, x = _random_model(depth, width, bits, weight_bits, signed, residual, seed, batch)
        calib = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 2))
        desc = {"kind": "random-mlp", "depth": depth, "width": width, "bits": bits, "signed": signed,
                "residual": residual, "seed": seed}
    else:
        from otters.snn.checkpoints import load_for_verify

        model, make_inputs = load_for_verify(checkpoint)
        x, calib = make_inputs(batch, seed), make_inputs(batch, seed + 1)
        desc = {"kind": "checkpoint", "path": str(checkpoint), "seed": seed}
    return model, [x], [calib], desc


def _student_case(checkpoint, student, preset, task, split, calibration_split, samples, calibration_samples,
                  batch, max_len, data_dir, seed):
    """(model, batches, calibration batches, description, evaluate) for a BERT student on real sentences."""
    import numpy as np
    import torch

    from otters.data.metrics import compute_metrics
    from otters.data.splits import load_split
    from otters.data.tasks import get_task
    from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer
    from otters.errors import OttersError

    if task is None:
        raise OttersError("a BERT student needs --task (rt, sst2, ...) to read its sentences")
    spec = get_task(task)
    rng = np.random.default_rng(seed)

    def rows(split_name, n):
        examples = load_split(spec, split_name, data_dir)
        keep = np.sort(rng.permutation(len(examples))[: min(n, len(examples))])
        return examples.subset(keep)

    if checkpoint is not None:
        from otters.cli import bert_inputs

        model, loaded = bert_inputs.student(Path(checkpoint), None, "minilm-l6", None)  # with its coding.json
        tokenizer = bert_inputs.tokenizer_for(Path(loaded["path"]))
        desc = {"kind": "student", "path": loaded["path"], "coding": loaded["coding"],
                "trained_dead_zone": loaded["dead_zone"]}
    else:
        from otters.models import student_from_hf

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

    def evaluate(m):
        if measured.labels is None:
            return {}
        with torch.no_grad():
            outputs = [m(**{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).logits for b in batches]
        order = np.concatenate([r for r in bucketed_batches(measured.lengths, batch, shuffle=False)])
        logits = torch.cat(outputs).numpy()
        preds = np.empty_like(logits)
        preds[order] = logits
        return compute_metrics(spec, preds, measured.labels)

    desc.update(task=spec.name, split=split, samples=len(measured), mean_tokens=float(measured.lengths.mean()),
                calibration_split=calibration_split,
                calibration_samples=sum(int(b["input_ids"].shape[0]) for b in calib), preset=model.config.preset)
    return model, batches, calib, desc, evaluate


def _firing_stats(populations: list[dict], dead_zone: int, centred: bool):
    """FiringStats from measured level histograms of the dead-zone-k QNN: signed 4-bit populations ->
    signed4, unsigned -> unsigned4 (otters.energy's two populations).

    ``centred`` (M-TTFS): each histogram is moved so its own silent level m lands on level 0, which is
    then the pooled mode the energy model silences: signed levels go to q - m (clipped at the range
    ends, where only non-zero deviations land), unsigned ones to |q - m| (clipped; the polarity of
    deviations below m is merged, which undercounts the column reads of the negative population).
    Per-channel silent levels are not moved. Raw histograms otherwise (plain TTFS: silent = qmin).
    """
    import numpy as np

    from otters.energy import FiringStats

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
    overrides = {k: {"qmin": -8 if k == "signed4" else 0, "histogram": v.tolist()} for k, v in totals.items()}
    return FiringStats.default().updated(overrides)


def _energy(result: dict, model) -> list[dict]:
    """Energy per attention block (otters.energy, 22 nm) from the measured histograms: Otters with plain
    TTFS, Otters with M-TTFS and each dead zone, Matterhorn (M-TTFS + MSU) with each dead zone."""
    from otters.energy import Geometry, model_energy

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

    add(f"otters-{kv} (TTFS)", f"otters-{kv}", _firing_stats(result["populations"], 0, centred=False), None)
    for k in result["dead_zones"]:
        stats = _firing_stats(result["populations"], k, centred=True)
        add(f"otters-{kv} + M-TTFS dz {k}", f"otters-{kv}-mttfs", stats, k)
        add(f"matterhorn dz {k}", "matterhorn", stats, k)
    return rows


def sparsity_result(checkpoint=None, random_mlp=False, student=None, preset="otters-1bitkv", task=None,
                    split="validation", calibration_split="train", samples=256, calibration_samples=256,
                    dead_zones="0,1,2,3,4", granularity="layer", depth=3, width=64, bits=4, weight_bits=1,
                    signed=True, residual=False, seed=0, batch=32, max_len=128, data_dir=None, metrics=True,
                    energy=False) -> dict:
    """What ``otters sparsity`` prints, as a JSON-ready dict (report + model description)."""
    import torch

    from otters.errors import OttersError
    from otters.snn.mttfs.report import sparsity_report
    from otters.snn.mttfs.stats import token_mask_fn

    torch.set_num_threads(min(2, torch.get_num_threads()))
    zones = _dead_zones(dead_zones)
    if sum([checkpoint is not None, bool(random_mlp), student is not None]) != 1:
        raise OttersError("give exactly one of: a checkpoint, --random-mlp, or --student (e.g. minilm-l6)")
    is_student = student is not None or (checkpoint is not None and Path(checkpoint).is_dir())
    if is_student:
        model, batches, calib, desc, evaluate = _student_case(
            checkpoint, student, preset, task, split, calibration_split, samples, calibration_samples, batch,
            max_len, data_dir, seed)
        report = sparsity_report(
            model, batches, lambda m, b: m(**{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}),
            dead_zones=zones, granularity=granularity, calibration=calib,
            batch_mask=lambda b: token_mask_fn(b["attention_mask"]), evaluate=evaluate if metrics else None)
        if energy:
            result = {"model": desc, **report.to_dict()}
            result["energy"] = _energy(result, model)
            return result
    else:
        if energy:
            raise OttersError("--energy prices a BERT student's stages; it has no architecture for an MLP")
        model, batches, calib, desc = _mlp_case(checkpoint, depth, width, bits, weight_bits, signed, residual, seed,
                                                batch)
        report = sparsity_report(model, batches, dead_zones=zones, granularity=granularity, calibration=calib)
    return {"model": desc, **report.to_dict()}


def _pct(v) -> str:
    return f"{100 * v:.1f}"


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    zones = [k for k in result["dead_zones"] if k > 0]
    model = result["model"]
    title = f"Silent neurons (%) per population: {model['kind']}"
    if "task" in model:
        title += f", {model['task']} {model['split']} ({model['samples']} samples)"
    table = Table(title=title + f", silent level per {result['granularity']}")
    for col in ["population", "levels", "neurons", "m", "TTFS", "M-TTFS", *[f"dz {k}" for k in zones]]:
        table.add_column(col, justify="left" if col == "population" else "right", no_wrap=True)
    for p in result["populations"]:
        m = p["silent"] if isinstance(p["silent"], int) else "per-ch"
        table.add_row(p["name"], f"{p['qmin']}..{p['qmax']}", str(p["neurons"]), str(m), _pct(p["ttfs"]),
                      _pct(p["mttfs"]), *[_pct(p["dead_zone"][k]) for k in zones])
    o = result["overall"]
    table.add_row("overall", "", str(o["neurons"]), "", _pct(o["ttfs"]), _pct(o["mttfs"]),
                  *[_pct(o["dead_zone"][k]) for k in zones], style="bold")
    console = Console()
    if not console.is_terminal and console.width < 120:
        console = Console(width=160)
    console.print(table)
    if result.get("energy"):
        table = Table(title=f"Energy per attention block (mJ, 22 nm), {result['energy'][0]['seq_len']} tokens, "
                            "from the measured histograms")
        for col in ("model", "total", "data movement", "analog"):
            table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
        for r in result["energy"]:
            table.add_row(r["model"], f"{r['total_mj']:.4g}", f"{r['parts']['data_movement']:.4g}",
                          f"{r['parts']['analog']:.4g}")
        console.print(table)
    if result.get("metrics"):
        cells = ", ".join(f"dz {k}: " + " ".join(f"{n} {v:.4f}" for n, v in m.items()) for k, m in result["metrics"].items())
        console.print(f"task metrics without fine-tuning (dz 0 = the QNN as trained): {cells}")


def sparsity_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="Student checkpoint directory, or a QuantMLP .safetensors."),
    task: Optional[str] = typer.Option(None, "--task", help="Task whose sentences a BERT student reads (rt, sst2, ...)."),
    split: str = typer.Option("validation", "--split", help="Split the ratios are measured on."),
    calibration_split: str = typer.Option("train", "--calibration-split", help="Split the silent levels are calibrated on."),
    samples: int = typer.Option(256, "--samples", help="Sentences measured (a seeded random subset)."),
    calibration_samples: int = typer.Option(256, "--calibration-samples", help="Sentences for calibration."),
    student: Optional[str] = typer.Option(None, "--student", help="Untrained student from HF weights: minilm-l6 or a BERT directory."),
    preset: str = typer.Option("otters-1bitkv", "--preset", help="Preset of the --student (otters-1bitkv, sorbet, ...)."),
    dead_zones: str = typer.Option("0,1,2,3,4", "--dead-zones", help="Dead-zone half-widths k to measure, comma-separated."),
    granularity: str = typer.Option("layer", "--granularity", help="Silent level per 'layer' or per 'channel'."),
    random_mlp: bool = typer.Option(False, "--random-mlp", help="Measure a random calibrated quantized MLP."),
    depth: int = typer.Option(3, "--depth", help="Random MLP: linear layers."),
    width: int = typer.Option(64, "--width", help="Random MLP: width."),
    bits: int = typer.Option(4, "--bits", help="Random MLP: activation bits."),
    weight_bits: int = typer.Option(1, "--weight-bits", help="Random MLP: weight bits."),
    signed: bool = typer.Option(True, "--signed/--unsigned", help="Random MLP: signed hidden activations."),
    residual: bool = typer.Option(False, "--residual", help="Random MLP: residual connections."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample draw and the random model."),
    batch: int = typer.Option(32, "--batch", help="Batch size (MLP: number of input samples)."),
    max_len: int = typer.Option(128, "--max-len", help="Token limit per sentence."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="GLUE directory (default: ../shared/data/glue)."),
    metrics: bool = typer.Option(True, "--metrics/--no-metrics", help="Also score the task per dead zone (BERT)."),
    energy: bool = typer.Option(False, "--energy", help="BERT: energy per block (otters.energy) from the measured histograms."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Silent-neuron ratio per layer and overall: plain TTFS vs M-TTFS vs M-TTFS with dead zone k (Matterhorn)."""
    result = sparsity_result(checkpoint, random_mlp, student, preset, task, split, calibration_split, samples,
                             calibration_samples, dead_zones, granularity, depth, width, bits, weight_bits, signed,
                             residual, seed, batch, max_len, data_dir, metrics, energy)
    if as_json:
        print(json.dumps(result))
    else:
        _print(result)


def register(app: typer.Typer) -> None:
    """Add ``otters sparsity`` to the main app."""
    app.command("sparsity")(sparsity_command)
