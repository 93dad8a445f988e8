"""``otters glue-table``: our spiking students on every GLUE task found, beside the published rows."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.errors import OttersError
from otters.studies.glue_table import default_checkpoints, glue_table, table_rows


def glue_table_command(
    checkpoints: Optional[list[Path]] = typer.Argument(
        None, help="student checkpoints, one per task (default: ./checkpoints/<task>-otters-1bitkv)"),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="GLUE directory holding <TASK>/train.tsv or dev.tsv "
                                 "(default: $OTTERS_GLUE_DIR, else ../shared/data/glue)"),
    split: str = typer.Option("validation", "--split",
                              help="validation (carved from train.tsv) or dev (the official GLUE dev.tsv files)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Score students (SNN) with each task's GLUE metric and print them beside the paper's rows."""

    paths = list(checkpoints or default_checkpoints(Path("checkpoints")))
    if not paths:
        raise OttersError("no student checkpoints given and none in ./checkpoints; pass CKPT folders")
    table = glue_table(paths, data_dir, split)
    if as_json:
        print(json.dumps(asdict(table), sort_keys=True))
        return

    header, rows = table_rows(table)
    out = Table(title=f"GLUE ({table.split}); published rows are GLUE dev")
    for name in header:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*row)
    console = Console()
    console.print(out)
    for score in table.scores:
        console.print(f"{score.task}: {score.checkpoint}, {score.split}, n = {score.n}")
    for note in table.skipped:
        console.print(f"skipped {note}")


def register(app: typer.Typer) -> None:
    app.command("glue-table")(glue_table_command)
