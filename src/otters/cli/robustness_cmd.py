"""``otters robustness``: accuracy of a student's SNN on drawn chips (device variation), base vs HAT.

Typer command over :func:`otters.studies.robustness.sweep` (Otters, ICLR 2026, Sec. 5): parse options, print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from otters.errors import OttersError
from otters.io import atomic_write_json
from otters.paths import check_outputs
from otters.studies.robustness import recorded_task, robustness_plot, robustness_table, sweep
from otters.train.common import set_threads

_TASK_HELP = "task: cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli or rt"
_DATA_HELP = "GLUE directory holding <TASK>/train.tsv (default: $OTTERS_GLUE_DIR, else ../shared/data/glue)"


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise OttersError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise OttersError(f"{what} is empty")
    return values


def robustness_command(
    checkpoints: List[Path] = typer.Argument(..., help="student checkpoints or distill run folders (e.g. base and HAT)"),
    task: Optional[str] = typer.Option(None, "--task", "-t", help=_TASK_HELP + " (default: recorded in CKPT)"),
    levels: str = typer.Option(",".join(f"{0.02 * i:.2f}" for i in range(11)), "--levels",
                               help="relative deviations to test, comma-separated"),
    draws: int = typer.Option(3, "--draws", help="chips drawn per level"),
    kinds: str = typer.Option("synapse,output,tau,beta", "--kinds", help="variation kinds: synapse, output, tau, beta"),
    split: str = typer.Option("validation", "--split", help="train, validation, dev or test"),
    rows: Optional[int] = typer.Option(None, "--rows", help="score a seeded subset of N rows (faster)"),
    seed: int = typer.Option(0, "--seed", help="seed of the drawn chips (the same chips for every checkpoint)"),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    threads: int = typer.Option(2, "--threads", help="torch threads"),
    as_json: bool = typer.Option(False, "--json", help="print the results as one JSON object"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a plot (png, pdf or svg)"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the results JSON here"),
) -> None:
    """Accuracy of the converted SNN under device variation (O(t), tau, beta), several draws per level."""
    check_outputs(files=[out], figures=[plot])
    set_threads(threads)
    task = task or recorded_task(checkpoints)
    log = (lambda msg: None) if as_json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = sweep(checkpoints, task, _floats(levels, "--levels"), draws, [k.strip() for k in kinds.split(",") if k.strip()],
                   seed, split, rows, adc_bits=adc_bits, data_dir=data_dir, log=log)
    if out is not None:
        atomic_write_json(out, result)
    if plot is not None:
        robustness_plot(result, plot)
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    console = Console()
    console.print(robustness_table(result))
    for label, entry in result["checkpoints"].items():
        exact = "bit-exact" if entry["exact"] else "NOT bit-exact"
        console.print(f"{label}: QNN {entry['qnn']:.4f}, nominal SNN {entry['nominal']:.4f} ({exact} with the QNN)")


def register(app: typer.Typer) -> None:
    """Add ``otters robustness`` to the main app."""
    app.command("robustness")(robustness_command)
