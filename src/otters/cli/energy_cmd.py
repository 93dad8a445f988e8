"""``otters energy``: the energy model (computation + data movement + analog parts).

``otters energy --paper-table`` prints each architecture's energy per attention block per inference
beside the Otters paper's figures; ``--counts FILE`` prices measured per-stage counts (an audit or
spike trace); ``otters energy CHECKPOINT --task T`` measures a trained student
(:func:`otters.studies.energy.checkpoint_energy`). Typer commands: parse options, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.energy import FiringStats, Hardware, energy_from_counts, paper_rows
from otters.energy.plot import plot_paper_table
from otters.errors import OttersError
from otters.io import read_json
from otters.paths import check_outputs
from otters.studies.energy import checkpoint_energy

_PARTS = ("FC", "QKV", "attention", "norms", "data_movement", "analog")


def _hardware(path: Optional[Path], adc_per: Optional[str]):
    hw = Hardware.from_dict(read_json(path)) if path is not None else Hardware()
    if adc_per is not None:
        hw = Hardware.from_dict({**hw.__dict__, "adc_per": adc_per})
    return hw


def _stats(path: Optional[Path]):
    stats = FiringStats.default()
    if path is None:
        return stats
    data = read_json(path)
    if not isinstance(data, dict):
        raise OttersError(f"{path}: firing statistics are a JSON object population -> {{qmin, probs}} or {{qmin, histogram}}")
    return stats.updated(data)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _print_table(rows: list[dict]) -> None:
    cfg = rows[0]["config"]
    title = (f"Energy per {'attention block' if cfg['scope'] == 'block' else 'model'} per inference (mJ): "
             f"{cfg['geometry']}, seq len {cfg['seq_len']}, table {cfg['table']}, Otters ADC per {cfg['adc_per']}")
    table = Table(title=title, show_lines=False)
    for col in ("model", *_PARTS, "total", "paper", "ours/paper", "gain", "paper gain", "note"):
        table.add_column(col, overflow="fold", no_wrap=col != "note")
    for r in rows:
        paper = _fmt(r["paper_total_mj"], 4) + ("*" if r["paper_derived"] else "")
        table.add_row(
            r["model"], *(_fmt(r["parts"][p]) for p in _PARTS), _fmt(r["total_mj"], 4), paper,
            _fmt(r["ratio_to_paper"], 2), _fmt(r["gain_vs_bert"], 3) + "x" if r["gain_vs_bert"] else "-",
            _fmt(r["paper_gain_vs_bert"], 3) + "x" if r["paper_gain_vs_bert"] else "-", r["note"],
        )
    console = Console(width=max(Console().width, 200))
    console.print(table)
    console.print("FC, QKV, attention, norms = computation; data_movement and analog summed over all stages. "
                  "* derived from the paper's stated 2.72x gain. Assumptions: docs/energy.md.")


def _print_measured(data: dict) -> None:
    m, inp = data["model"], data["input"]
    table = Table(title=f"Energy per inference (mJ), measured: {m['preset']} / {m['geometry']} on {inp['source']} "
                        f"(mean {inp['mean_tokens']:.1f} tokens), table {data['table']}, ADC per {data['hardware']['adc_per']}")
    table.add_column("part")
    table.add_column("energy (mJ)", justify="right")
    table.add_column("incl. its movement + analog (mJ)", justify="right")
    for part, value in data["parts"].items():
        table.add_row(part, f"{value:.4g}", f"{data['blocks'][part]:.4g}" if part in data["blocks"] else "-")
    table.add_row("total", f"{data['total_mj']:.4g}", "", style="bold")
    Console(width=max(Console().width, 120)).print(table)


def energy(
    checkpoint: Optional[Path] = typer.Argument(None, help="Student checkpoint: its spiking model is run on --task "
                                                "sentences, audited, and priced."),
    task: Optional[str] = typer.Option(None, "--task", help="Task of CHECKPOINT (rt or a GLUE task) whose sentences are run."),
    split: str = typer.Option("validation", "--split", help="CHECKPOINT: split of --task."),
    sentences: int = typer.Option(32, "--sentences", help="CHECKPOINT: number of sentences (energy = mean per inference)."),
    max_len: int = typer.Option(128, "--max-len", help="CHECKPOINT: tokens per sentence at most."),
    paper_table: bool = typer.Option(False, "--paper-table", help="Energy of each architecture beside the paper's figures."),
    geometry: str = typer.Option("bert-base", "--geometry", help="bert-base | bert-large | bert-mini."),
    seq_len: int = typer.Option(128, "--seq-len", help="Tokens per inference (128: GLUE's padded max_seq_length)."),
    table: str = typer.Option("22nm", "--table", help="Cost table: 22nm | 45nm | FILE.json (may set \"base\")."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated architectures (default: the table's)."),
    scope: str = typer.Option("block", "--scope", help="block (one encoder layer, the paper's unit) | model (all layers)."),
    adc_per: Optional[str] = typer.Option(None, "--adc-per", help="Otters ADC placement: column | synapse | spike."),
    hardware: Optional[Path] = typer.Option(None, "--hardware", help="JSON of Hardware overrides (docs/energy.md)."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="JSON of measured level distributions per population."),
    counts: Optional[Path] = typer.Option(None, "--counts", help="JSON stage -> counts (adds, subs, mults, ..., spikes)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a stacked bar plot (png, pdf, svg)."),
) -> None:
    """Energy per inference: computation + data movement + analog parts (docs/energy.md)."""
    check_outputs(figures=[plot])
    hw = _hardware(hardware, adc_per)
    if checkpoint is not None or task is not None:
        if checkpoint is None or task is None:
            raise OttersError("measuring a checkpoint needs both CHECKPOINT and --task")
        data = checkpoint_energy(checkpoint, task, split, sentences, max_len, table, hw)
        if json_out:
            print(json.dumps(data, indent=2))
        else:
            _print_measured(data)
        return
    if counts is not None:
        report = energy_from_counts(read_json(counts), table, hw, model=counts.stem)
        data = report.to_dict()
        if json_out:
            print(json.dumps(data, indent=2))
        else:
            print(f"{report.model}: {report.total_mj:.6g} mJ ({report.table})")
            for k, v in report.parts().items():
                print(f"  {k:14s} {v:.6g} mJ")
        return
    if not paper_table:
        raise OttersError("choose --paper-table (analytical models) or --counts FILE (measured counts)")
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    rows = paper_rows(geometry, seq_len, table, hw, _stats(stats), names, scope)
    if plot is not None:
        plot_paper_table(rows, plot)
    if json_out:
        keys = ("model", "label", "total_mj", "paper_total_mj", "paper_derived", "parts", "blocks", "paper_parts",
                "ratio_to_paper", "gain_vs_bert", "paper_gain_vs_bert", "note", "config")
        print(json.dumps([{k: r[k] for k in keys} for r in rows], indent=2))
    else:
        _print_table(rows)


def register(app: typer.Typer) -> None:
    """Add ``otters energy`` to the main app."""
    app.command("energy")(energy)
