"""``otters sparsity``: silent-neuron ratios per population under TTFS, M-TTFS and M-TTFS with dead zones.

Typer command over :func:`otters.studies.sparsity.measure_sparsity` (Matterhorn, arXiv 2601.22876):
parse options, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.studies.sparsity import SparsityRequest, measure_sparsity


def _pct(v) -> str:
    return f"{100 * v:.1f}"


def _print(result: dict) -> None:
    zones = [k for k in result["dead_zones"] if k > 0]
    model = result["model"]
    title = f"Silent neurons (%) per population: {model['kind']}"
    if "task" in model:
        title += f", {model['task']} {model['split']} ({model['samples']} samples)"
    table = Table(title=title + f", silent level per {result['granularity']}")
    for col in ["population", "levels", "neurons", "m", "TTFS", "split", "M-TTFS", *[f"dz {k}" for k in zones]]:
        table.add_column(col, justify="left" if col == "population" else "right", no_wrap=True)
    for p in result["populations"]:
        m = p["silent"] if isinstance(p["silent"], int) else "per-ch"
        table.add_row(p["name"], f"{p['qmin']}..{p['qmax']}", str(p["neurons"]), str(m), _pct(p["ttfs"]),
                      _pct(p["split"]), _pct(p["mttfs"]), *[_pct(p["dead_zone"][k]) for k in zones])
    o = result["overall"]
    table.add_row("overall", "", str(o["neurons"]), "", _pct(o["ttfs"]), _pct(o["split"]), _pct(o["mttfs"]),
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
    if result.get("energy_per_inference"):
        rows = result["energy_per_inference"]
        table = Table(title=f"Energy per inference (µJ, {rows[0]['table']}), each coding's spiking BERT run and audited "
                            f"on the same {rows[0]['sentences']} sentences ({rows[0]['mean_tokens']:.1f} tokens)")
        for col in ("coding", "silent (%)", "spikes", "device reads", "ADC conversions", "total", "data movement",
                    "analog", "vs offset"):
            table.add_column(col, justify="left" if col == "coding" else "right", no_wrap=True)
        base = rows[0]["total_mj"]
        for r in rows:
            table.add_row(r["label"], _pct(r["silent"]), f"{r['spikes']:,.0f}", f"{r['device_reads']:,.0f}",
                          f"{r['conversions']:,.0f}", f"{1000 * r['total_mj']:.2f}",
                          f"{1000 * r['parts']['data_movement']:.2f}", f"{1000 * r['parts']['analog']:.2f}",
                          f"{r['total_mj'] / base:.3f}x")
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
    energy: bool = typer.Option(False, "--energy", help="BERT: energy per block (otters.energy) from the measured "
                                "histograms, and per inference of offset TTFS, split and M-TTFS (each run and audited)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Silent-neuron ratio per layer and overall: plain TTFS vs M-TTFS vs M-TTFS with dead zone k (Matterhorn)."""
    result = measure_sparsity(SparsityRequest(
        checkpoint=checkpoint, random_mlp=random_mlp, student=student, preset=preset, task=task, split=split,
        calibration_split=calibration_split, samples=samples, calibration_samples=calibration_samples,
        dead_zones=dead_zones, granularity=granularity, depth=depth, width=width, bits=bits, weight_bits=weight_bits,
        signed=signed, residual=residual, seed=seed, batch=batch, max_len=max_len, data_dir=data_dir,
        metrics=metrics, energy=energy))
    if as_json:
        print(json.dumps(result))
    else:
        _print(result)


def register(app: typer.Typer) -> None:
    """Add ``otters sparsity`` to the main app."""
    app.command("sparsity")(sparsity_command)
