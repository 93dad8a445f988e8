"""``otters verify``: convert a QNN to a spiking network and check that it is lossless.

Typer command over :mod:`otters.studies.verify` (Otters, ICLR 2026, Proposition 1): parse options, print.
Exit status: 0 when the SNN reproduces the QNN exactly, 1 when it does not, 2 on bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.errors import OttersError
from otters.studies.verify import (
    BertVerifyRequest,
    DeviceSettings,
    HardwareSettings,
    MlpVerifyRequest,
    verify_bert_hardware,
    verify_bert_student,
    verify_mlp,
)


def _print_table(result, model: dict) -> None:
    title = f"QNN -> SNN verification ({result.simulator} simulator, {result.samples} samples, {model['kind']})"
    table = Table(title=title)
    for col in ("layer", "kind", "neurons", "max diff", "mismatches", "spikes", "max/neuron", "sparsity"):
        table.add_column(col, justify="left" if col in ("layer", "kind") else "right", no_wrap=True)
    for c in result.layers:
        diff = f"{int(c.max_diff)}" if c.kind == "levels" else f"{c.max_diff:.3g}"
        table.add_row(
            c.name,
            c.kind,
            str(c.neurons),
            diff,
            str(c.mismatches),
            str(c.spikes) if c.kind == "levels" else "-",
            str(c.max_spikes_per_neuron) if c.kind == "levels" else "-",
            f"{c.sparsity:.3f}" if c.sparsity is not None else "-",
            style=None if c.exact else "bold red",
        )
    console = Console()
    if not console.is_terminal and console.width < 110:
        console = Console(width=110)  # piped output: keep layer names whole
    console.print(table)
    verdict = "[green]exact[/green]" if result.exact else f"[bold red]NOT exact[/bold red] (first: {result.first_inexact})"
    console.print(f"{verdict}: max level diff {result.max_level_diff}, max spikes per neuron {result.max_spikes_per_neuron}")


def _print_hardware(result, model: dict) -> None:
    s = result.settings
    table = Table(title=f"Hardware-level simulation vs closed form: dt {s['dt']:.3g} s, {s['adc_bits']}-bit ADC, "
                        f"jitter {s['jitter']:.3g} s, read noise {s['read_noise']:.3g}, {s['sentences']} sentences")
    for col in ("population / stage", "layer", "compared", "mismatches", "max diff", "max spikes/neuron"):
        table.add_column(col, justify="left" if col in ("population / stage", "layer") else "right", no_wrap=True)
    for p in result.populations:
        table.add_row(p.name, p.layer, str(p.neurons), str(p.mismatches), str(p.max_level_diff),
                      str(p.max_spikes_per_neuron), style=None if p.mismatches == 0 else "bold red")
    for st in result.stages:
        table.add_row(st.name, st.layer, str(st.outputs), str(st.mismatches), f"{st.max_diff:.4g}", "-",
                      style=None if st.mismatches == 0 else "bold red")
    console = Console(width=max(Console().width, 110))
    console.print(table)
    verdict = "[green]exact[/green]" if result.exact else \
        f"[bold red]NOT exact[/bold red] (first layer that differs: {result.first_inexact_layer})"
    console.print(f"{verdict}: max level diff {result.max_level_diff}, max spikes per neuron "
                  f"{result.max_spikes_per_neuron} (counted from threshold crossings)")


def verify_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="QNN checkpoint: QuantMLP .safetensors, or a BERT student "
                                                "directory (save_student / otters distill); or use --random-mlp / --preset."),
    random_mlp: bool = typer.Option(False, "--random-mlp", help="Verify a random quantized MLP instead of a checkpoint."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Verify a whole BERT student of this preset "
                                         "(qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv) on real sentences."),
    geometry: str = typer.Option("minilm-l6", "--geometry", help="BERT geometry: minilm-l6, bert-base, tiny or an HF folder."),
    random_init: bool = typer.Option(False, "--random-init", help="--preset: random weights (seeded by --seed)."),
    hf_init: bool = typer.Option(False, "--hf", help="--preset: weights from the HF model (default for minilm-l6)."),
    task: str = typer.Option("rt", "--task", help="BERT: task whose sentences are used (rt, sst2, ...)."),
    split: str = typer.Option("validation", "--split", help="BERT: split of --task."),
    max_len: int = typer.Option(128, "--max-len", help="BERT: tokens per sentence at most."),
    depth: int = typer.Option(3, "--depth", help="Random MLP: number of linear layers."),
    width: int = typer.Option(64, "--width", help="Random MLP: width of every layer."),
    bits: int = typer.Option(4, "--bits", help="Activation bits n (T = 2^n - 1 steps), 1..8."),
    weight_bits: int = typer.Option(1, "--weight-bits", help="Weight bits: 1 (binary) or 2..8 (integer codes)."),
    signed: bool = typer.Option(False, "--signed", help="Signed activations (offset folded into the accumulator)."),
    residual: bool = typer.Option(False, "--residual", help="Random MLP: residual connections (digital adds)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random model, inputs and device draws."),
    batch: int = typer.Option(16, "--batch", help="Number of input samples (BERT: sentences)."),
    curve: Optional[Path] = typer.Option(None, "--curve", help="Device curve JSON (`otters device fit --out`); default: the paper's."),
    simulator: str = typer.Option("event", "--simulator", help="event (fast, vectorised) or tick (reference clock loop); "
                                  "BERT: event, threshold (compare-only firing) or hardware (clocked chip: ticks, "
                                  "b-bit ADC, jitter, noise)."),
    dt: Optional[float] = typer.Option(None, "--dt", help="--simulator hardware: clock period in s (default: a quarter "
                                       "of `otters tolerance`'s max_clock_period)."),
    jitter: float = typer.Option(0.0, "--jitter", help="--simulator hardware: read timing jitter, uniform +-S "
                                 "seconds."),
    read_noise: float = typer.Option(0.0, "--read-noise", help="--simulator hardware: Gaussian read noise (sigma, "
                                     "full scale 1)."),
    drift: float = typer.Option(0.0, "--drift", help="--simulator hardware: uniform relative output drift of the "
                                "chip."),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution."),
    chip_std: float = typer.Option(0.0, "--chip-std", help="Draw a chip: relative std of output scale, tau and beta (lossy)."),
    synapse_std: float = typer.Option(0.0, "--synapse-std", help="Per-synapse relative deviation of O(t) (lossy)."),
    coding: Optional[str] = typer.Option(None, "--coding", help="ttfs (offset code), split (sign-split TTFS: "
                                         "silent at zero) or mttfs (Matterhorn's masked TTFS, calibrated; "
                                         "BERT: on --task train sentences). Default: ttfs, or a checkpoint's coding.json."),
    dead_zone: Optional[int] = typer.Option(None, "--dead-zone", help="Dead-zone half-width k (the QNN gets the same "
                                            "dead zone). BERT default: the checkpoint's."),
    granularity: str = typer.Option("layer", "--granularity", help="MLP, mttfs: silent level per 'layer' or 'channel'."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Convert a QNN to a TTFS spiking network (Proposition 1) and check it reproduces the QNN exactly."""
    if random_init and hf_init:
        raise OttersError("choose --random-init or --hf, not both")
    is_student = checkpoint is not None and Path(checkpoint).is_dir()
    device = DeviceSettings(curve=curve, adc_bits=adc_bits, chip_std=chip_std, synapse_std=synapse_std)
    if preset is not None or is_student:
        if random_mlp:
            raise OttersError("--random-mlp verifies an MLP; drop it to verify a BERT student")
        if preset is not None and checkpoint is not None:
            raise OttersError("give a checkpoint or --preset, not both")
        init = "random" if random_init else "hf" if hf_init else None
        request = BertVerifyRequest(
            checkpoint=checkpoint if is_student else None, preset=preset, geometry=geometry, init=init, seed=seed,
            sentences=batch, task=task, split=split, max_len=max_len, simulator=simulator, device=device,
            coding=coding, dead_zone=dead_zone)
        if simulator == "hardware":
            verification = verify_bert_hardware(request, HardwareSettings(dt, drift, jitter, read_noise))
            if as_json:
                print(json.dumps(verification.to_dict()))
            else:
                _print_hardware(verification.result, verification.model)
            if not verification.exact:
                raise typer.Exit(1)
            return
        verification = verify_bert_student(request)
    else:
        if simulator == "hardware":
            raise OttersError("--simulator hardware simulates a BERT student (--preset or a student directory); "
                              "an MLP has the tick reference (--simulator tick)")
        verification = verify_mlp(MlpVerifyRequest(
            checkpoint=checkpoint, random_mlp=random_mlp, depth=depth, width=width, bits=bits, weight_bits=weight_bits,
            signed=signed, residual=residual, seed=seed, batch=batch, simulator=simulator, device=device,
            coding=coding or "ttfs", dead_zone=dead_zone or 0, granularity=granularity))
    result = verification.result
    if as_json:
        print(json.dumps(verification.to_dict()))
    else:
        _print_table(result, verification.model)
    if not result.exact:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``otters verify`` to the main app."""
    app.command("verify")(verify_command)
