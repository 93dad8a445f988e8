"""``otters predict``: classify texts with a student (otters.studies.predict.predict)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.errors import OttersError
from otters.studies.predict import load, predict, read_inputs
from otters.train.common import progress

PROGRESS_FROM = 8  # inputs; fewer finish before a progress bar would be useful


def predict_command(
    checkpoint: Path = typer.Argument(..., help="student checkpoint directory"),
    texts: Optional[list[str]] = typer.Argument(None, help="texts to classify (with --pair: first, second, first, ...)"),
    file: Optional[Path] = typer.Option(None, "--file", help="UTF-8 file, one input per line (--pair: two "
                                        "tab-separated sentences per line)."),
    pair: bool = typer.Option(False, "--pair", help="Sentence-pair task (MRPC, STS-B, RTE, ...)."),
    mode: str = typer.Option("snn", "--mode", help="snn (spiking BERT: spikes and energy) or qnn."),
    task: Optional[str] = typer.Option(None, "--task", help="Task of CHECKPOINT (default: recorded in it)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Label and probabilities (STS-B: score), spikes, silent fraction and energy of each input."""

    if bool(texts) == (file is not None):
        raise OttersError("give texts to classify or --file FILE (not both)")
    if file is not None:
        first, second = read_inputs(file, pair)
    elif pair:
        if len(texts) % 2:
            raise OttersError(f"--pair takes texts two by two (first, second, ...); got {len(texts)}")
        first, second = texts[0::2], texts[1::2]
    else:
        first, second = list(texts), None
    if mode not in ("snn", "qnn"):
        raise OttersError(f"unknown mode {mode!r}; choose snn or qnn")
    student = load(checkpoint, task)
    if len(first) >= PROGRESS_FROM and not as_json:
        with progress(len(first), "predict") as advance:
            result = predict(student, first, second, mode, advance=advance)
    else:
        result = predict(student, first, second, mode)
    if as_json:
        print(json.dumps(asdict(result), sort_keys=True))
        return
    _print_table(result)


def _print_table(result) -> None:

    table = Table(title=f"{result.checkpoint} ({result.task}, {result.mode})")
    for name in ("input", "label", "probabilities", "spikes", "silent", "energy"):
        table.add_column(name, overflow="fold")
    for p in result.predictions:
        text = p.text if p.text_pair is None else f"{p.text} || {p.text_pair}"
        label = p.label if p.label is not None else f"score {p.score:.3f}"
        probs = "" if p.probabilities is None else ", ".join(f"{k} {v:.3f}" for k, v in p.probabilities.items())
        spikes = "-" if p.spikes is None else f"{p.spikes:,} / {p.neurons:,}"
        silent = "-" if p.silent_fraction is None else f"{100 * p.silent_fraction:.1f} %"
        energy = "-" if p.energy_uj is None else f"{p.energy_uj:.1f} µJ"
        table.add_row(text[:80], label, probs, spikes, silent, energy)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
