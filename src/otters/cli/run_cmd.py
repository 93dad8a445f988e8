"""``otters run``: the interim end-to-end run (device fit, firing schedule, exact TTFS coding demo).

The lead replaces this with the full QNN -> SNN pipeline later; the work is done by the reusable
:func:`otters.cli.run_device_demo.run_device_demo`.
"""

from __future__ import annotations

import typer


def run(
    out: str = typer.Option("runs/latest", "--out", help="Output directory (created; files written atomically)."),
    task: str = typer.Option("rt", "--task", help="Task name, e.g. rt (Rotten Tomatoes) or a GLUE task; recorded only (the interim demo does not train)."),
    profile: str = typer.Option("quick", "--profile", help="quick or full."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Run what exists of the pipeline: fit the device, print the schedule, check exact TTFS coding."""
    from rich.console import Console

    from otters.cli.run_device_demo import run_device_demo
    from otters.io import atomic_write_json

    console = Console()
    summary = run_device_demo(out, profile=profile, seed=seed, log=console.print)
    summary["task"] = task
    summary["note"] = "interim run: device + coding demo only (no model is trained yet)"
    atomic_write_json(f"{out}/summary.json", summary)
    ok = summary["coding"]["accumulator_exact"] and summary["coding"]["decode_exact"]
    console.print(f"{'OK' if ok else 'MISMATCH'}: wrote {', '.join(summary['files'])} to {out}")
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``otters run`` to the main app."""
    app.command("run")(run)
