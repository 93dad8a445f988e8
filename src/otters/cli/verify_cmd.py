"""``otters verify``: convert a QNN to a spiking network and check that it is lossless.

Thin wrapper over :func:`otters.convert` and :func:`otters.verify` (Otters, ICLR 2026,
Proposition 1). Heavy imports stay inside the command so that ``otters --help`` is fast.
Exit status: 0 when the SNN reproduces the QNN exactly, 1 when it does not, 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _random_model(depth: int, width: int, bits: int, weight_bits: int, signed: bool, residual: bool, seed: int, batch: int):
    import torch

    from otters.errors import OttersError
    from otters.nn.qmlp import QuantMLPConfig, random_qmlp

    for name, value, lo, hi in (("--depth", depth, 1, 64), ("--width", width, 1, 16384), ("--batch", batch, 1, 1 << 16)):
        if not lo <= value <= hi:
            raise OttersError(f"{name} must be in {lo}..{hi}, got {value}")
    config = QuantMLPConfig(
        sizes=[width] * (depth + 1),
        act_bits=bits,
        weight_bits=weight_bits,
        signed_input=signed,
        signed_hidden=signed,
        residual=residual,
    )
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 1))
    return random_qmlp(config, x, seed=seed), x


def bert_verify_result(checkpoint, preset, geometry, init, seed, sentences, task, split, max_len, curve, simulator,
                       adc_bits, chip_std, synapse_std, coding=None, dead_zone=None):
    """(VerifyResult, model description) of a whole BERT student on real sentences (otters.snn.bert).

    A checkpoint runs with its own coding (``coding.json``); ``coding`` / ``dead_zone`` given (re)configure
    it: M-TTFS silent levels calibrated on the first ``sentences`` rows of ``task``'s train split, the dead
    zone applied to the QNN (which is then the dead-zone QNN the SNN must equal)."""
    import torch

    from otters.cli import bert_inputs
    from otters.device import PAPER_CURVE, load_curve
    from otters.errors import OttersError
    from otters.snn import draw_variation
    from otters.snn.bert import verify_bert
    from otters.snn.convert import convert
    from otters.snn.mttfs import model_coding

    torch.set_num_threads(min(2, torch.get_num_threads()))
    if simulator not in ("event", "threshold"):
        raise OttersError(f"a BERT student runs --simulator event or threshold, not {simulator!r}")
    model, description = bert_inputs.student(checkpoint, preset, geometry, init, seed)
    tokenizer = bert_inputs.tokenizer_for(checkpoint, geometry if preset else None)
    texts_a, texts_b, source = bert_inputs.sentences(sentences, task, split)
    batch = bert_inputs.tokenize(tokenizer, texts_a, texts_b, max_len, model.config.vocab_size)
    if checkpoint is None:
        bert_inputs.calibrate(model, batch)  # a fresh preset: LSQ steps from these sentences
    if coding is not None or dead_zone:
        _configure_bert(model, tokenizer, coding or model_coding(model), int(dead_zone or 0), sentences, task, max_len)
    device_curve = PAPER_CURVE if curve is None else load_curve(curve)
    snn = convert(model, device_curve, adc_bits=adc_bits)
    variation = None
    if chip_std or synapse_std:
        variation = draw_variation(device_curve, chip_std, chip_std, chip_std, synapse_std, seed)
    result = verify_bert(model, snn, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                         fire_mode=simulator, variation=variation)
    description.update({"coding": model_coding(model), "snn_coding": snn.coding,
                        "dead_zone": max((int(getattr(m, "dead_zone", 0)) for m in model.modules()), default=0)})
    description.update({"sentences": int(batch["input_ids"].shape[0]), "source": source,
                        "tokens": int(batch["attention_mask"].sum()), "curve": str(curve) if curve else "paper",
                        "adc_bits": adc_bits, "chip_std": chip_std, "synapse_std": synapse_std})
    return result, description


def bert_hardware_result(checkpoint, preset, geometry, init, seed, sentences, task, split, max_len, curve, adc_bits,
                         dt, drift, jitter, read_noise) -> tuple:
    """(HardwareVerification, model description): the hardware-level simulation of a BERT student
    against its closed form (otters.snn.hardware_verify); the fast path reads through 8-bit codes."""
    import torch

    from otters.cli import bert_inputs
    from otters.device import PAPER_CURVE, load_curve
    from otters.snn.convert import convert
    from otters.snn.hardware_verify import chip_read, verify_hardware

    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, description = bert_inputs.student(checkpoint, preset, geometry, init, seed)
    tokenizer = bert_inputs.tokenizer_for(checkpoint, geometry if preset else None)
    texts_a, texts_b, source = bert_inputs.sentences(sentences, task, split)
    batch = bert_inputs.tokenize(tokenizer, texts_a, texts_b, max_len, model.config.vocab_size)
    if checkpoint is None:
        bert_inputs.calibrate(model, batch)
    snn = convert(model, PAPER_CURVE if curve is None else load_curve(curve))
    read = chip_read(snn, dt, adc_bits, drift, jitter, read_noise)
    result = verify_hardware(snn, read, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], seed)
    description.update({"sentences": int(batch["input_ids"].shape[0]), "source": source,
                        "tokens": int(batch["attention_mask"].sum()), "curve": str(curve) if curve else "paper"})
    return result, description


def _print_hardware(result, model: dict) -> None:
    from rich.console import Console
    from rich.table import Table

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


def _configure_bert(model, tokenizer, coding, dead_zone, sentences, task, max_len) -> None:
    """configure_coding of a BERT student; M-TTFS silent levels from ``task``'s training sentences."""
    from otters.cli import bert_inputs
    from otters.snn.mttfs import calibrate_silent, configure_coding

    silent = "zero"
    if coding == "mttfs":
        texts_a, texts_b, _ = bert_inputs.sentences(sentences, task, "train")
        calib = bert_inputs.tokenize(tokenizer, texts_a, texts_b, max_len, model.config.vocab_size)
        silent = calibrate_silent(model, calib)
    configure_coding(model, coding, dead_zone, silent=silent)


def verify_result(
    checkpoint: Optional[Path],
    random_mlp: bool,
    depth: int = 3,
    width: int = 64,
    bits: int = 4,
    weight_bits: int = 1,
    signed: bool = False,
    residual: bool = False,
    seed: int = 0,
    batch: int = 16,
    curve: Optional[Path] = None,
    simulator: str = "event",
    adc_bits: int = 8,
    chip_std: float = 0.0,
    synapse_std: float = 0.0,
    coding: str = "ttfs",
    dead_zone: int = 0,
    granularity: str = "layer",
):
    """(VerifyResult, model description dict): what ``otters verify`` computes and prints (QuantMLP).

    ``coding`` "mttfs" / ``dead_zone`` k: Matterhorn's masked TTFS (silent levels calibrated on a second
    draw of inputs) and the dead-zone QNN it must equal (otters.snn.mttfs, docs/matterhorn.md)."""
    import torch

    from otters import convert, verify
    from otters.device import PAPER_CURVE, load_curve
    from otters.errors import OttersError
    from otters.snn import SIMULATORS, draw_variation

    torch.set_num_threads(min(2, torch.get_num_threads()))
    if simulator not in SIMULATORS:
        raise OttersError(f"--simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    if (checkpoint is None) == (not random_mlp):
        raise OttersError("give a checkpoint file or --random-mlp (not both)")
    if random_mlp:
        qnn, x = _random_model(depth, width, bits, weight_bits, signed, residual, seed, batch)
        model = {"kind": "random-mlp", "depth": depth, "width": width, "bits": bits, "weight_bits": weight_bits,
                 "signed": signed, "residual": residual, "seed": seed}
    else:
        from otters.snn.checkpoints import load_for_verify

        qnn, make_inputs = load_for_verify(checkpoint)
        x = make_inputs(batch, seed)
        model = {"kind": "checkpoint", "path": str(checkpoint), "seed": seed}
    device_curve = PAPER_CURVE if curve is None else load_curve(curve)
    calibration = None
    if coding != "ttfs" or dead_zone:
        from otters.snn.mttfs import configure_coding

        configure_coding(qnn, coding, dead_zone)  # with a dead zone, the QNN checked is the dead-zone QNN
        calibration = (torch.randn(x.shape, generator=torch.Generator().manual_seed(seed + 2)) if random_mlp
                       else make_inputs(batch, seed + 1))
        model.update({"coding": coding, "dead_zone": dead_zone, "granularity": granularity})
    snn = convert(qnn, device_curve, adc_bits=adc_bits, coding=coding, calibration=calibration, granularity=granularity)
    variation = None
    if chip_std or synapse_std:
        variation = draw_variation(device_curve, chip_std, chip_std, chip_std, synapse_std, seed)
    result = verify(qnn, snn, x, simulator=simulator, variation=variation)
    model.update({"batch": int(x.shape[0]), "curve": str(curve) if curve else "paper", "adc_bits": adc_bits,
                  "chip_std": chip_std, "synapse_std": synapse_std})
    return result, model


def _print_table(result, model: dict) -> None:
    from rich.console import Console
    from rich.table import Table

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
    jitter: float = typer.Option(0.0, "--jitter", help="--simulator hardware: read timing jitter, uniform +-S seconds."),
    read_noise: float = typer.Option(0.0, "--read-noise", help="--simulator hardware: Gaussian read noise (sigma, "
                                     "full scale 1)."),
    drift: float = typer.Option(0.0, "--drift", help="--simulator hardware: uniform relative output drift of the chip."),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution."),
    chip_std: float = typer.Option(0.0, "--chip-std", help="Draw a chip: relative std of output scale, tau and beta (lossy)."),
    synapse_std: float = typer.Option(0.0, "--synapse-std", help="Per-synapse relative deviation of O(t) (lossy)."),
    coding: Optional[str] = typer.Option(None, "--coding", help="ttfs, or mttfs (Matterhorn's masked TTFS, calibrated; "
                                         "BERT: on --task train sentences). Default: ttfs, or a checkpoint's coding.json."),
    dead_zone: Optional[int] = typer.Option(None, "--dead-zone", help="Dead-zone half-width k (the QNN gets the same "
                                            "dead zone). BERT default: the checkpoint's."),
    granularity: str = typer.Option("layer", "--granularity", help="MLP, mttfs: silent level per 'layer' or 'channel'."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Convert a QNN to a TTFS spiking network (Proposition 1) and check it reproduces the QNN exactly."""
    import json

    from otters.errors import OttersError

    if random_init and hf_init:
        raise OttersError("choose --random-init or --hf, not both")
    is_student = checkpoint is not None and Path(checkpoint).is_dir()
    if preset is not None or is_student:
        if random_mlp:
            raise OttersError("--random-mlp verifies an MLP; drop it to verify a BERT student")
        if preset is not None and checkpoint is not None:
            raise OttersError("give a checkpoint or --preset, not both")
        init = "random" if random_init else "hf" if hf_init else None
        if simulator == "hardware":
            if coding not in (None, "ttfs") or dead_zone or chip_std or synapse_std:
                raise OttersError("--simulator hardware runs plain TTFS on a nominal or drifting chip: drop --coding, "
                                  "--dead-zone, --chip-std and --synapse-std (use --drift, --jitter, --read-noise)")
            result, model = bert_hardware_result(checkpoint if is_student else None, preset, geometry, init, seed, batch,
                                                 task, split, max_len, curve, adc_bits, dt, drift, jitter, read_noise)
            if as_json:
                print(json.dumps({**result.to_dict(), "model": model}))
            else:
                _print_hardware(result, model)
            if not result.exact:
                raise typer.Exit(1)
            return
        result, model = bert_verify_result(checkpoint if is_student else None, preset, geometry, init, seed, batch, task,
                                           split, max_len, curve, simulator, adc_bits, chip_std, synapse_std, coding,
                                           dead_zone)
    else:
        if simulator == "hardware":
            raise OttersError("--simulator hardware simulates a BERT student (--preset or a student directory); "
                              "an MLP has the tick reference (--simulator tick)")
        result, model = verify_result(checkpoint, random_mlp, depth, width, bits, weight_bits, signed, residual, seed,
                                      batch, curve, simulator, adc_bits, chip_std, synapse_std, coding or "ttfs",
                                      dead_zone or 0, granularity)
    if as_json:
        payload = result.to_dict()
        payload["model"] = model
        print(json.dumps(payload))
    else:
        _print_table(result, model)
    if not result.exact:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``otters verify`` to the main app."""
    app.command("verify")(verify_command)
