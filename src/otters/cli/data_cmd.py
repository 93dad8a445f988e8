"""``otters data info``, ``otters eval`` and ``otters teacher``: tasks, scoring, teacher fine-tuning.

Typer commands over :mod:`otters.data`, :mod:`otters.studies.evaluation` and :mod:`otters.teacher`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.data.splits import data_info
from otters.data.tokenize import resolve_model_dir
from otters.io import atomic_write_json
from otters.paths import require_run_to_resume
from otters.studies.evaluation import evaluate_checkpoint
from otters.teacher.cache import teacher_cache_dir
from otters.teacher.finetune import ensure_teacher
from otters.teacher.report import teacher_report
from otters.train.tensorboard import tensorboard_sink

_TASK_HELP = "task: cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli or rt"
_DATA_HELP = "GLUE directory holding <TASK>/train.tsv (default: $OTTERS_GLUE_DIR, else ../shared/data/glue)"
_TENSORBOARD_HELP = ("also write the training curves (loss, learning rate, validation metrics) to a TensorBoard "
                     "event file in this folder; needs pip install 'otters[tensorboard]'")


def data_info_command(
    task: str = typer.Option("rt", "--task", "-t", help=_TASK_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Rows per split and label counts of a task."""
    info = data_info(task, data_dir)
    if as_json:
        print(json.dumps(info, sort_keys=True))
        return
    table = Table(title=f"{info['task']}: rows per split")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("labels")
    for split, rows in info["splits"].items():
        labels = ", ".join(f"{k}: {v}" for k, v in info["labels"][split].items()) or "(unlabelled)"
        table.add_row(split, str(rows), labels)
    Console().print(table)


def eval_command(
    checkpoint: Path = typer.Argument(..., help="teacher (Hugging Face) directory or otters checkpoint"),
    task: Optional[str] = typer.Option(None, "--task", "-t", help=_TASK_HELP + " (default: recorded in CKPT)"),
    split: str = typer.Option("validation", "--split", help="train, validation, test, or dev (official GLUE dev)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    mode: str = typer.Option("fp", "--mode", help="fp, qnn or snn"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Score a checkpoint on a task's split with GLUE's metrics (values are fractions)."""
    result = evaluate_checkpoint(checkpoint, task, split, mode, data_dir)
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    scores = ", ".join(f"{name} {value:.4f}" for name, value in result["metrics"].items())
    print(f"{result['task']} {result['split']} ({result['mode']}, n={result['n']}): {scores}")


def teacher_command(
    task: str = typer.Option(..., "--task", "-t", help=_TASK_HELP),
    model: Optional[Path] = typer.Option(None, "--model", help="local Hugging Face BERT directory (default: MiniLM-L6)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="output directory (default: the teacher cache)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="epochs (default: per task)"),
    max_len: Optional[int] = typer.Option(None, "--max-len", help="max tokens per example (default: per task)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="batch size (default: per task)"),
    lr: Optional[float] = typer.Option(None, "--lr", help="peak learning rate (default 5e-5)"),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="validate every N steps (0: each epoch)"),
    seed: int = typer.Option(0, "--seed", help="training seed (the data splits have their own fixed seeds)"),
    train_rows: Optional[int] = typer.Option(None, "--train-rows", help="train on a seeded random subset of N rows"),
    threads: int = typer.Option(2, "--threads", help="torch threads"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:<i> or auto (CUDA: bf16 autocast)"),
    resume: Optional[bool] = typer.Option(None, "--resume/--no-resume", help="continue an interrupted run (default: "
                                          "when there is one; --resume: refuse when there is none)"),
    force: bool = typer.Option(False, "--force", help="retrain even if a finished teacher is cached (final stage)"),
    intermediate: Optional[str] = typer.Option(None, "--intermediate", help="first fine-tune on this task (e.g. sst2 "
                                               "for rt), minus its rows that share text with --task's evaluation "
                                               "splits, then on --task"),
    exclude_overlap: Optional[str] = typer.Option(None, "--exclude-overlap", help="drop training and validation rows "
                                                  "that share text with this task's validation/test/dev sentences"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write a results JSON (validation/test metrics)"),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help=_TENSORBOARD_HELP),
) -> None:
    """Fine-tune (or reuse the cached) teacher for a task; prints its directory."""
    if resume:
        target = out if out is not None else teacher_cache_dir(task, resolve_model_dir(model), exclude_overlap)
        require_run_to_resume([target, target.with_name(target.name + ".work")], "teacher")
    resume = resume is not False
    with tensorboard_sink(tensorboard) as sink:
        path = ensure_teacher(task, model, data_dir, out, force=force, epochs=epochs, max_len=max_len,
                              batch_size=batch_size, lr=lr, eval_every=eval_every, seed=seed, threads=threads,
                              resume=resume, max_train_rows=train_rows, intermediate=intermediate,
                              exclude_overlap=exclude_overlap, device=device, metrics=sink)
    if report is not None:
        command = "otters " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        atomic_write_json(report, teacher_report(path, data_dir, command=command))
        print(f"report written to {report}", file=sys.stderr)
    print(path)


def register(app: typer.Typer) -> None:
    """Add ``data info``, ``eval`` and ``teacher`` to the main app."""
    data_app = typer.Typer(help="Text tasks: GLUE and Rotten Tomatoes.", no_args_is_help=True)
    data_app.command("info")(data_info_command)
    app.add_typer(data_app, name="data")
    app.command("eval")(eval_command)
    app.command("teacher")(teacher_command)
