"""``otters run``: text -> teacher -> Otters-1bitKV student -> spiking BERT -> exactness, accuracy,
energy, robustness -> report.html + summary.json (docs/run.md). Typer command over
:mod:`otters.pipeline`: parse options, print the summary.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from otters.io import read_json
from otters.pipeline import open_run, run_pipeline
from otters.report import RunSummary, terminal_commands, terminal_table
from otters.report.record import from_json
from otters.train.tensorboard import tensorboard_sink

_TASK_HELP = "task: rt (embedded Rotten Tomatoes, default) or a GLUE task (sst2, mrpc, rte, ...)"


def run(
    task: Optional[str] = typer.Option(None, "--task", "-t", help=_TASK_HELP),
    profile: Optional[str] = typer.Option(None, "--profile", help="quick (smoke run, ~15 min on 2 CPU cores; default) "
                                          "or full (best accuracy: staged distillation, HAT; hours, meant for a GPU)"),
    out: Optional[Path] = typer.Option(None, "--out", help="run directory (default: runs/<task>-<profile>-<time>)"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue the run in this directory with its own "
                                          "settings (after Ctrl-C, a kill or an error)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="GLUE directory holding <TASK>/train.tsv "
                                            "(default: $OTTERS_GLUE_DIR, else ../shared/data/glue)"),
    teacher: Optional[Path] = typer.Option(None, "--teacher", help="use this fine-tuned HF teacher as is"),
    model: Optional[Path] = typer.Option(None, "--model", help="base HF BERT of the teacher (default: packaged MiniLM-L6)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed of training, subsets and drawn chips (default 0)"),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help="also write the training curves of the "
                                               "teacher and the students to a TensorBoard event file in this folder "
                                               "(not a setting of the run; needs pip install 'otters[tensorboard]')"),
) -> None:
    """Run the whole pipeline: teacher, distillation, conversion, exactness, accuracy, energy, robustness, report."""
    console = Console(stderr=True)
    with tensorboard_sink(tensorboard) as sink:
        ctx, state = open_run(out, resume, task, profile, seed, data_dir, model, teacher,
                              log=lambda msg: console.print(f"  {msg}", markup=False, highlight=False), metrics=sink)
        console.print(f"[bold]otters run[/bold]: task {ctx.task}, profile {ctx.profile.name}, run directory {ctx.run_dir}")
        with _terminate_as_interrupt():
            result = run_pipeline(ctx, state, console)
    summary = from_json(RunSummary, read_json(result.json))
    out_console = Console()
    if not out_console.is_terminal:  # a pipe or a file: wide enough for the table's three columns
        out_console = Console(width=max(out_console.width, 140))
    out_console.print(terminal_table(summary))
    for line in terminal_commands(summary):  # plain print: a command line is never wrapped
        print(line)
    print(f"report: {result.html}\nsummary: {result.json}", flush=True)
    if summary.exactness and not summary.exactness.verify.exact:
        raise typer.Exit(1)


@contextmanager
def _terminate_as_interrupt():
    """Inside the block, ``kill PID`` (SIGTERM) stops the run like Ctrl-C: the finished steps stay recorded,
    the interrupted one is named with the ``--resume`` command, exit status 130 (a ``kill -9`` leaves the
    same record, silently). The previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    """Add ``otters run`` to the main app."""
    app.command("run")(run)
