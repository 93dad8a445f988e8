"""``otters info``: parameters and packed storage size of a student (checkpoint or preset);
``otters audit``: operation counts of its converted spiking model on real text.

Typer commands over :mod:`otters.studies.storage` and :mod:`otters.studies.audit`: parse options, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.errors import OttersError
from otters.studies.audit import audit_dict
from otters.studies.storage import info_dict


def info_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="student checkpoint directory (from save_student)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="bert-fp, qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv"),
    geometry: str = typer.Option("minilm-l6", "--geometry", help="minilm-l6, bert-base, tiny, or an HF BERT directory"),
    num_labels: int = typer.Option(2, "--num-labels", help="classifier outputs (1 = regression, e.g. STS-B)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Parameters and packed storage size (MB = 2^20 bytes; fp32 BERT-base = 418 MB) of a student."""
    report = info_dict(checkpoint, preset, geometry, num_labels)
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    title = (f"{report['preset']} / {report['geometry']}: {report['layers']} layers, hidden {report['hidden']}, "
             f"W{report['weight_bits']} A{report['act_bits'] or 32} KV{report['kv_bits'] or 32}")
    table = Table(title=title)
    table.add_column("part")
    table.add_column("tensors", justify="right")
    table.add_column("MB", justify="right")
    for name, part in report["parts"].items():
        table.add_row(name, str(part["tensors"]), f"{part['mb']:.3f}")
    table.add_row("total", "", f"{report['storage_mb']:.3f}", style="bold")
    console = Console()
    console.print(table)
    console.print(f"parameters {report['parameters']:,}; packed {report['storage_mb']:.3f} MB "
                  f"(fp32 would be {report['fp32_mb']:.1f} MB)")


_AUDIT_COLUMNS = ("adds", "subs", "mults", "shifts", "compares", "device_reads", "adc", "spikes")


def audit_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="student checkpoint directory (save_student / otters distill)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv"),
    geometry: str = typer.Option("minilm-l6", "--geometry", help="minilm-l6, bert-base, tiny, or an HF BERT directory"),
    random_init: bool = typer.Option(False, "--random-init", help="--preset: random weights (seeded by --seed)"),
    hf_init: bool = typer.Option(False, "--hf", help="--preset: weights from the HF model (default for minilm-l6)"),
    seed: int = typer.Option(0, "--seed", help="seed of --random-init"),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="audit one input of exactly L tokens of real text "
                                          "(default: each sentence at its own length)"),
    sentences: int = typer.Option(1, "--sentences", help="number of real sentences audited (counts are sums)"),
    task: str = typer.Option("rt", "--task", help="task whose validation sentences are used (rt: embedded reviews)"),
    split: str = typer.Option("validation", "--split", help="split of --task"),
    max_len: Optional[int] = typer.Option(None, "--max-len", help="tokens per sentence at most (default: the "
                                          "model's position limit, at most 512; otters energy uses its --max-len)"),
    adc_per: str = typer.Option("column", "--adc-per", help="ADC placement counted: column | synapse | spike"),
    column_rows: int = typer.Option(256, "--column-rows", help="synapses per column tile (column ADC)"),
    measured: bool = typer.Option(False, "--measured", help="count the spiking path's operations as the hardware "
                                  "executor performs them (a torch dispatch mode), not by the rules"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (spiking, digital, blocks)"),
) -> None:
    """Count the operations of the converted spiking model on real text, per block (docs/audit.md)."""
    if random_init and hf_init:
        raise OttersError("choose --random-init or --hf, not both")
    init = "random" if random_init else "hf" if hf_init else None
    data = audit_dict(checkpoint, preset, geometry, init, seed, seq_len, sentences, task, split, adc_per, column_rows,
                      max_len, measured)
    if as_json:
        print(json.dumps(data))
        return
    m = data["model"]
    table = Table(title=f"Operation audit: {m['preset']} / {m['geometry']}, {data['input']['sentences']} input(s), "
                        f"{data['tokens']} tokens, ADC per {data['settings']['adc_per']}")
    table.add_column("block")
    table.add_column("path")
    for col in _AUDIT_COLUMNS:
        table.add_column(col, justify="right")
    for row in data["blocks"]:
        table.add_row(row["block"], row["path"], *(f"{row[c]:,.0f}" for c in _AUDIT_COLUMNS))
    for path in ("spiking", "digital"):
        table.add_row(f"total {path}", path, *(f"{data[path][c]:,.0f}" for c in _AUDIT_COLUMNS), style="bold")
    console = Console(width=max(Console().width, 160))
    console.print(table)
    console.print(f"input: {data['input']['source']}; multiplications in the spiking path: "
                  f"{data['spiking']['mults']:,.0f}")


def register(app: typer.Typer) -> None:
    """Add ``otters info`` and ``otters audit``."""
    app.command("info")(info_command)
    app.command("audit")(audit_command)
