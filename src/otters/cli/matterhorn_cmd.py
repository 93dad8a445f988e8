"""``otters matterhorn-table``: the Matterhorn k table (silent ratio, SNN accuracy, energy per dead zone k).

Typer command over :func:`otters.studies.matterhorn_table.matterhorn_table` (Matterhorn, arXiv 2601.22876,
on the Otters spiking BERT): parse options, print.
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
from otters.paths import check_outputs
from otters.studies.matterhorn_table import matterhorn_table, table_plot
from otters.studies.sparsity import parse_dead_zones


def _print(rows: list[dict]) -> None:
    ref = rows[0]
    metric = next(k for k in ref if k.startswith("snn_"))[4:]
    layers = list(ref["silent_per_layer"])
    title = (f"Matterhorn on Otters: {ref['task']} {ref['split']} ({ref['samples']} sentences, mean {ref['seq_len']} "
             f"tokens), energy per attention block ({ref['table']}), dead-zone students "
             + (f"fine-tuned {rows[-1]['finetune_steps']} steps" if rows[-1]["finetune_steps"] else "not fine-tuned"))
    table = Table(title=title)
    for col in ("coding", "k", "silent %", *[f"{n} %" for n in layers], f"SNN {metric} %", f"d{metric}", "SNN=QNN",
                "mJ/block", "vs TTFS", "MSU mJ/block"):
        table.add_column(col, justify="left" if col == "coding" else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["coding"], "-" if r["dead_zone"] is None else str(r["dead_zone"]), f"{100 * r['silent']:.1f}",
                      *[f"{100 * r['silent_per_layer'][n]:.1f}" for n in layers], f"{100 * r['snn_' + metric]:.2f}",
                      f"{100 * r['delta_' + metric]:+.2f}" if "delta_" + metric in r else "",
                      "yes" if r["exact"] else "NO", f"{r['energy_mj']:.4g}",
                      f"{r['energy_vs_ttfs']:.3f}" if "energy_vs_ttfs" in r else "1",
                      f"{r['matterhorn_mj']:.4g}" if "matterhorn_mj" in r else "-")
    console = Console()
    if not console.is_terminal and console.width < 160:
        console = Console(width=200)
    console.print(table)
    console.print(f"energy: {ref['architecture']} (TTFS row) and {rows[-1]['architecture']} (k rows) priced with the "
                  "firing statistics measured in each SNN run; MSU = Matterhorn's memristive crossbar (docs/matterhorn.md)")


def matterhorn_table_command(
    checkpoint: Path = typer.Argument(..., help="Student checkpoint (otters distill output or its student/ folder)."),
    task: Optional[str] = typer.Option(None, "--task", help="Task (default: the one the checkpoint records)."),
    dead_zones: str = typer.Option("0,1,2,3,4", "--dead-zones", help="Dead-zone half-widths k, comma-separated."),
    finetune_steps: int = typer.Option(0, "--finetune-steps", help="Fine-tune each dead-zone student N distillation "
                                       "steps from its teacher first (0: measure the checkpoint with the dead zone)."),
    split: str = typer.Option("test", "--split", help="Split the accuracy and the activity are measured on."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Measure a seeded subset of N sentences (default: all)."),
    calibration_samples: int = typer.Option(256, "--calibration-samples", help="Training sentences for the silent levels."),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="Fine-tuning teacher (default: the one the checkpoint records)."),
    work_dir: Optional[Path] = typer.Option(None, "--work-dir", help="Fine-tuned students go here (default runs/matterhorn-table-...)."),
    batch: int = typer.Option(32, "--batch", help="Sentences per batch."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sentence subsets and the fine-tuning."),
    table_name: str = typer.Option("22nm", "--table", help="Energy cost table: 22nm | 45nm | FILE.json."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="GLUE directory (default: ../shared/data/glue)."),
    threads: int = typer.Option(1, "--threads", help="torch threads."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write silent ratio / accuracy / energy vs k (png, pdf, svg)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the rows as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as one JSON list."),
) -> None:
    """Matterhorn's k table on a trained student: silent ratio, SNN accuracy and energy per dead zone k."""
    check_outputs(files=[out], figures=[plot], folders=[work_dir])
    log = (lambda msg: None) if as_json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    rows = matterhorn_table(checkpoint, task, parse_dead_zones(dead_zones), finetune_steps, split, samples,
                            calibration_samples, batch, seed, table_name, teacher, work_dir, data_dir, threads=threads,
                            log=log)
    if out is not None:
        atomic_write_json(out, rows)
    if plot is not None:
        table_plot(rows, plot)
    if as_json:
        print(json.dumps(rows))
    else:
        _print(rows)


def register(app: typer.Typer) -> None:
    """Add ``otters matterhorn-table`` to the main app."""
    app.command("matterhorn-table")(matterhorn_table_command)
