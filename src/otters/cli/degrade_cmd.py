"""``otters degrade``: a student's accuracy on a chip degraded past the exactness envelope, one parameter at a time.

Typer command over :func:`otters.studies.degradation.degrade`: parse options, print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.io import atomic_write_json
from otters.studies.degradation import (
    DegradationRequest,
    DegradationResult,
    degradation_plot,
    degrade,
    parse_bit_drops,
    parse_multiples,
    parse_parameters,
)
from otters.train.common import set_threads

_UNITS = {"dt": "s", "adc_bits": "bits", "drift": "", "jitter": "s"}


def _print(result: DegradationResult) -> None:
    b = result.bounds
    table = Table(title=f"{result.task} {result.split} accuracy beyond the exactness envelope, {result.sentences} "
                        f"seeded sentences ({result.tokens} tokens), hardware-level simulator; closed form (= QNN) "
                        f"{100 * result.closed_form:.2f} %")
    for col in ("parameter", "setting", "value", "accuracy (%)", "agrees with closed form (%)", "bit-exact sentences",
                "wall (s)"):
        table.add_column(col, justify="left" if col in ("parameter", "setting") else "right", no_wrap=True)
    for p in result.points:
        value = f"{int(p.value)}" if p.parameter == "adc_bits" else f"{p.value:.4g} {_UNITS[p.parameter]}".strip()
        table.add_row(p.parameter, p.label, value, f"{100 * p.accuracy:.2f}", f"{100 * p.agreement:.1f}",
                      f"{p.exact_sentences}/{result.sentences}", f"{p.wall_s:.0f}",
                      style=None if p.exact else "yellow")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print(f"bounds (T = {b['T']}, {b['adc_bits']}-bit ADC, clock {b['dt']:.3g} s): max_clock_period "
                  f"{b['max_clock_period']:.4g} s, min_adc_bits {b['min_adc_bits']}, max_output_drift "
                  f"{b['max_output_drift']:.4g} (swept on the {'+' if b['drift_side'] > 0 else '-'} side), max_jitter "
                  f"{b['max_jitter']:.4g} s")


def degrade_command(
    checkpoint: Path = typer.Argument(..., help="student checkpoint directory (plain TTFS coding)"),
    task: str = typer.Option("rt", "--task", "-t", help="task whose labelled sentences are scored"),
    split: str = typer.Option("test", "--split", help="split of --task"),
    sentences: int = typer.Option(64, "--sentences", help="seeded subset of N sentences (the hardware-level "
                                  "simulator runs one sentence at a time)"),
    seed: int = typer.Option(0, "--seed", help="seed of the subset and of the jitter draws"),
    parameters: str = typer.Option("dt,adc_bits,drift,jitter", "--parameters",
                                   help="parameters to degrade, comma-separated: dt, adc_bits, drift, jitter"),
    multiples: str = typer.Option("1,1.5,2,4", "--multiples", help="multiples of the clock, drift and jitter bounds"),
    bit_drops: str = typer.Option("0,1,2,3", "--bit-drops", help="ADC bits b_min - d for these d"),
    adc_bits: int = typer.Option(8, "--adc-bits", help="the chip's ADC while another parameter is degraded"),
    max_len: int = typer.Option(128, "--max-len", help="tokens per sentence at most"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="GLUE directory (default: ../shared/data/glue)"),
    threads: int = typer.Option(1, "--threads", help="torch threads"),
    as_json: bool = typer.Option(False, "--json", help="print the result as one JSON object"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write the figure (png, pdf or svg)"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the result JSON here"),
) -> None:
    """Accuracy of a student's spiking BERT on a chip degraded past `otters tolerance`'s bounds (clock, ADC, drift, jitter)."""
    set_threads(threads)
    request = DegradationRequest(
        checkpoint=checkpoint, task=task, split=split, sentences=sentences, seed=seed,
        parameters=parse_parameters(parameters), multiples=parse_multiples(multiples),
        bit_drops=parse_bit_drops(bit_drops), adc_bits=adc_bits, max_len=max_len, data_dir=data_dir)
    log = (lambda msg: None) if as_json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = degrade(request, log=log)
    if out is not None:
        atomic_write_json(out, result.to_dict())
    if plot is not None:
        degradation_plot(result, plot)
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        _print(result)


def register(app: typer.Typer) -> None:
    """Add ``otters degrade`` to the main app."""
    app.command("degrade")(degrade_command)
