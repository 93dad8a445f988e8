"""``otters info``: parameters and packed storage size of a student (checkpoint or preset).

Heavy imports (torch) stay inside the command so that ``otters --help`` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def info_dict(checkpoint: Optional[Path], preset: Optional[str], geometry: str, num_labels: int) -> dict:
    """The data ``otters info --json`` prints: parameters, storage_mb (MB = 2^20 bytes), parts, ...

    A checkpoint directory (from ``save_student``) is measured from its stored tensors; a preset is
    built on the meta device (no memory, no weights) and sized from its packed layout.
    """
    from otters.errors import OttersError

    if (checkpoint is None) == (preset is None):
        raise OttersError("give either a checkpoint directory or --preset NAME (with --geometry)")
    if checkpoint is not None:
        from otters.io import read_json
        from otters.models.packing import CONFIG_FILE, TENSORS_FILE, load_student, storage_report

        model = load_student(checkpoint)
        meta = read_json(Path(checkpoint) / CONFIG_FILE)
        report = storage_report(model)
        layout = meta.get("storage")
        if layout is not None:  # what was actually written (includes latent weights if saved)
            report.update({k: layout[k] for k in ("storage_bytes", "storage_mb", "parts")})
        report["file_bytes"] = sum((Path(checkpoint) / f).stat().st_size for f in (CONFIG_FILE, TENSORS_FILE))
        report["source"] = str(checkpoint)
        cfg = model.config
    else:
        import torch

        from otters.models.packing import storage_report
        from otters.models.presets import build_student

        problem = "regression" if num_labels == 1 else "classification"
        with torch.device("meta"):
            model = build_student(preset, geometry, num_labels=num_labels, problem_type=problem)
        report = storage_report(model)
        report["source"] = "preset"
        cfg = model.config
    report.update({"preset": cfg.preset, "geometry": cfg.geometry, "layers": cfg.num_hidden_layers,
                   "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads, "ffn": cfg.intermediate_size,
                   "vocab": cfg.vocab_size, "weight_bits": cfg.weight_bits, "act_bits": cfg.act_bits,
                   "kv_bits": cfg.kv_bits, "softmax": cfg.softmax, "norm": cfg.norm})
    return report


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
    from rich.console import Console
    from rich.table import Table

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


def register(app: typer.Typer) -> None:
    """Add ``otters info``."""
    app.command("info")(info_command)
