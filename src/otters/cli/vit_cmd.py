"""``otters vit train`` and ``otters vit eval``: the A2OS2A spiking ViT on small image sets.

Typer commands over :mod:`otters.vit` and :func:`otters.studies.vit.evaluate_vit_checkpoint`: parse options, print.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.errors import OttersError
from otters.limits import check_spiking_activations
from otters.paths import check_output_dir, check_output_file, require_run_to_resume
from otters.studies.vit import evaluate_vit_checkpoint
from otters.train.common import set_threads
from otters.vit.ablation import ablation_table, load_summaries
from otters.vit.budget import estimate_run
from otters.vit.data import load_images
from otters.vit.experiment import restart_runs, run_experiment
from otters.vit.train import TrainSettings, default_config

vit_app = typer.Typer(help="Spiking ViT with A2OS2A attention: train (resumable), evaluate, time budget, "
                      "ablation table.", no_args_is_help=True)

_DATA_HELP = "fashion-mnist, mnist5k, digits, cifar10, cifar100 or png"
_ATTN_HELP = "seed (ternary Q,K; ReLU weights; binary V), paper (binary Q, ReLU K, ternary V), binary (Spikformer) or ann (softmax)"


_THREADS_HELP = "torch threads; 0 (default): one per CPU core available to this process (use 1 per run when runs share the CPU)"


def _threads(threads: int) -> int:
    """Set torch's thread count (otters.train.common.set_threads): ``threads``, or with 0 the number of
    cores this process may use; returns the count set."""
    if threads < 0:
        raise OttersError(f"--threads must be >= 0 (0: one per available core), got {threads}")
    if threads == 0:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    set_threads(threads)
    return threads


def _print_summary(rows: list[tuple[str, str]], title: str) -> None:
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


def _geometry(dim, depth, heads, mlp_ratio) -> dict:
    return {"dim": dim, "depth": depth, "heads": heads, "mlp_ratio": mlp_ratio}


def _budget(minutes: float) -> float | None:
    if minutes < 0:
        raise OttersError(f"--budget-min must be >= 0 (0: no check), got {minutes}")
    return minutes * 60.0 or None


def _check_memory(images, attention, T, batch_size, dim, depth, heads, mlp_ratio) -> None:
    """Refuse a request whose spiking membranes cannot fit in memory, before anything is written."""
    cfg = default_config(images, attention, T, **_geometry(dim, depth, heads, mlp_ratio))
    tokens = (cfg.image_size // 2**cfg.pool_stages) ** 2
    check_spiking_activations(cfg.T, batch_size, tokens, cfg.dim, cfg.depth, f"vit train with T = {cfg.T}")


@vit_app.command("train")
def train_command(
    data: str = typer.Option("fashion-mnist", "--data", help=_DATA_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder of the data set (CIFAR, PNG; "
                                            "Fashion-MNIST default /usr/share/datasets/fashion-mnist)"),
    attention: str = typer.Option("seed", "--attention", help=_ATTN_HELP),
    T: int = typer.Option(4, "--T", help="time steps"),
    epochs: int = typer.Option(3, "--epochs", help="training epochs (the cosine schedule ends with the last)"),
    seeds: int = typer.Option(1, "--seeds", help="number of seeds (0, 1, ..., N-1); mean +- std reported"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for per-epoch state and checkpoints "
                                       "(seed<k>/) and results.json; re-running with it resumes"),
    resume: Optional[bool] = typer.Option(None, "--resume/--restart", help="continue the runs saved in --out and "
                                          "skip finished seeds (default; --resume: refuse when there are none), or "
                                          "discard them and start over"),
    results: Optional[Path] = typer.Option(None, "--results", help="also write the summary JSON here (atomic)"),
    dim: Optional[int] = typer.Option(None, "--dim", help="embedding width (default 64)"),
    depth: Optional[int] = typer.Option(None, "--depth", help="number of blocks (default 2)"),
    heads: Optional[int] = typer.Option(None, "--heads", help="attention heads (default 4)"),
    mlp_ratio: Optional[int] = typer.Option(None, "--mlp-ratio", help="MLP hidden width / dim (default 4)"),
    batch_size: int = typer.Option(128, "--batch-size"),
    lr: float = typer.Option(2e-3, "--lr"),
    limit_train: Optional[int] = typer.Option(None, "--limit-train", help="use only the first N training images"),
    threads: int = typer.Option(0, "--threads", help=_THREADS_HELP),
    budget_min: float = typer.Option(15.0, "--budget-min", help="per-run wall-time budget in minutes (training "
                                     "+ test pass): warn when projected over it, record within_budget; 0: off"),
    show_progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar (log lines when "
                                       "stderr is not a terminal)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON (per-seed and mean/std "
                                 "accuracy, firing rates, ACs/MACs, energy at 45 and 22 nm)"),
) -> None:
    """Train the spiking ViT for each seed and report test accuracy, firing rates, ACs/MACs, energy."""
    _threads(threads)
    if seeds < 1:
        raise OttersError(f"--seeds must be >= 1, got {seeds}")
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, limit_train=limit_train,
                             budget_s=_budget(budget_min))
    if out is not None:
        check_output_dir(out)
    if resume and out is None:
        raise OttersError("--resume continues the runs saved in --out FOLDER; give --out")
    if resume:
        require_run_to_resume([out], "vit train")
    if results is not None:
        check_output_file(results)
    images = load_images(data, data_dir)
    _check_memory(images, attention, T, batch_size, dim, depth, heads, mlp_ratio)
    if out is not None and resume is False:
        restart_runs(out, list(range(seeds)))

    def log(entry: dict) -> None:
        print(f"epoch {entry['epoch']}: loss {entry['train_loss']:.4f}, val acc {entry['val_accuracy']:.4f} "
              f"({entry['epoch_seconds']:.0f} s)", file=sys.stderr, flush=True)

    def warn(text: str) -> None:
        print(f"otters: warning: {text}", file=sys.stderr, flush=True)

    summary = run_experiment(images, attention, T, settings, list(range(seeds)), out, progress=show_progress,
                             log=log, warn=warn, results_path=results, **_geometry(dim, depth, heads, mlp_ratio))
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    energy = summary["energy_per_image"]
    budget = summary["within_budget"]
    _print_summary([
        ("test accuracy (mean +- std)", f"{summary['test_accuracy_mean']:.4f} +- {summary['test_accuracy_std']:.4f}"),
        ("test accuracy per seed", ", ".join(f"{a:.4f}" for a in summary["test_accuracy"])),
        ("seeds", str(len(summary["runs"]))),
        ("ACs / image", f"{summary['acs_per_image_mean']:.4g}"),
        ("MACs / image", f"{summary['macs_per_image_mean']:.4g}"),
        ("attention ACs / image", f"{summary['attn_acs_per_image_mean']:.4g}"),
        ("attention MACs / image", f"{summary['attn_macs_per_image_mean']:.4g}"),
        *((f"energy / image (uJ, {t}, ops only)", f"{e['uJ_mean']:.4g}") for t, e in energy.items()),
        ("longest run (min, train + test)", f"{summary['run_wall_s_max'] / 60:.1f}"),
        ("within budget", "-" if budget is None else ("yes" if budget else "NO")),
    ], f"{data}, attention {attention}, T = {T}")


@vit_app.command("budget")
def budget_command(
    data: str = typer.Option("fashion-mnist", "--data", help=_DATA_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    attention: str = typer.Option("seed", "--attention", help=_ATTN_HELP),
    T: int = typer.Option(4, "--T", help="time steps"),
    epochs: int = typer.Option(3, "--epochs"),
    steps: int = typer.Option(100, "--steps", help="training steps to time"),
    eval_images: int = typer.Option(512, "--eval-images", help="images timed for each evaluation pass"),
    dim: Optional[int] = typer.Option(None, "--dim"),
    depth: Optional[int] = typer.Option(None, "--depth"),
    heads: Optional[int] = typer.Option(None, "--heads"),
    mlp_ratio: Optional[int] = typer.Option(None, "--mlp-ratio"),
    batch_size: int = typer.Option(128, "--batch-size"),
    limit_train: Optional[int] = typer.Option(None, "--limit-train"),
    threads: int = typer.Option(0, "--threads", help=_THREADS_HELP),
    budget_min: float = typer.Option(15.0, "--budget-min", help="per-run budget in minutes"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Time a few training steps and project one `vit train` run (training, validation, test pass)."""
    _threads(threads)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, limit_train=limit_train,
                             budget_s=_budget(budget_min))
    images = load_images(data, data_dir)
    _check_memory(images, attention, T, batch_size, dim, depth, heads, mlp_ratio)
    est = estimate_run(images, attention, T, settings, steps, eval_images, **_geometry(dim, depth, heads, mlp_ratio))
    if as_json:
        print(json.dumps(est, sort_keys=True))
        return
    wall, cpu = est["projected_wall"], est["projected_cpu"]
    verdict = "-" if est["within_budget"] is None else ("yes" if est["within_budget"] else "NO")
    _print_summary([
        ("step (s, wall / cpu)", f"{est['step_wall_s']:.3f} / {est['step_cpu_s']:.3f}"),
        ("steps per run", f"{est['steps_per_epoch']} x {est['epochs']}"),
        ("projected training (min, wall / cpu)", f"{wall['train_s'] / 60:.1f} / {cpu['train_s'] / 60:.1f}"),
        ("projected val + test (min, wall / cpu)", f"{(wall['val_s'] + wall['test_s']) / 60:.1f} / "
                                                   f"{(cpu['val_s'] + cpu['test_s']) / 60:.1f}"),
        ("projected run (min, wall / cpu)", f"{wall['total_s'] / 60:.1f} / {cpu['total_s'] / 60:.1f}"),
        ("within budget (wall)", verdict),
    ], f"{data}, attention {attention}, T = {T}, {est['threads']} thread(s), {steps} steps timed")


@vit_app.command("table")
def table_command(
    summaries: list[Path] = typer.Argument(..., help="summary JSON files of `vit train --json` / --results"),
) -> None:
    """Print the ablation table (markdown): mean +- std per attention, A2OS2A vs binary against the seed spread."""
    print(ablation_table(load_summaries(summaries)))


@vit_app.command("eval")
def eval_command(
    checkpoint: Path = typer.Argument(..., help="checkpoint directory (model.safetensors + config.json)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder of the data set, if not the default"),
    split: str = typer.Option("test", "--split", help="test or val"),
    threads: int = typer.Option(0, "--threads", help=_THREADS_HELP),
    table: Optional[str] = typer.Option(None, "--table", help="an extra otters.energy cost table (JSON file) "
                                        "besides 45nm and 22nm"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Evaluate a trained ViT checkpoint: accuracy, firing rates, ACs/MACs and energy per image."""
    _threads(threads)
    result = evaluate_vit_checkpoint(checkpoint, split, data_dir, table)
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    _print_summary([
        ("accuracy", f"{result['accuracy']:.4f}"),
        ("ACs / image", f"{result['acs_per_image']:.4g}"),
        ("MACs / image", f"{result['macs_per_image']:.4g}"),
        ("attention ACs / image", f"{result['attn_acs_per_image']:.4g}"),
        ("attention MACs / image", f"{result['attn_macs_per_image']:.4g}"),
        *((f"energy / image (uJ, {t}, ops only)", f"{e['uJ']:.4g}") for t, e in result["energy_per_image"].items()),
    ], f"{checkpoint} on {result['data']} {split}")


def register(app: typer.Typer) -> None:
    """Add the ``vit`` command group to the main app."""
    app.add_typer(vit_app, name="vit")
