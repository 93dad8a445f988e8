"""``otters vit train`` and ``otters vit eval``: the A2OS2A spiking ViT on small image sets.

Heavy libraries (torch) are imported inside the commands so ``otters --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

vit_app = typer.Typer(help="Spiking ViT with A2OS2A attention: train, evaluate.", no_args_is_help=True)

_DATA_HELP = "fashion-mnist, mnist5k, digits, cifar10, cifar100 or png"
_ATTN_HELP = "seed (ternary Q,K; ReLU weights; binary V), paper (binary Q, ReLU K, ternary V), binary (Spikformer) or ann (softmax)"


def _threads(threads: int) -> None:
    import torch

    from otters.errors import OttersError

    if threads < 1:
        raise OttersError(f"--threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)


def _print_summary(rows: list[tuple[str, str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@vit_app.command("train")
def train_command(
    data: str = typer.Option("fashion-mnist", "--data", help=_DATA_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder of the data set (CIFAR, PNG; "
                                            "Fashion-MNIST default /usr/share/datasets/fashion-mnist)"),
    attention: str = typer.Option("seed", "--attention", help=_ATTN_HELP),
    T: int = typer.Option(4, "--T", help="time steps"),
    epochs: int = typer.Option(3, "--epochs", help="training epochs"),
    seeds: int = typer.Option(1, "--seeds", help="number of seeds (0, 1, ..., N-1); mean +- std reported"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for checkpoints (seed<k>/) and results.json"),
    dim: Optional[int] = typer.Option(None, "--dim", help="embedding width (default 64)"),
    depth: Optional[int] = typer.Option(None, "--depth", help="number of blocks (default 2)"),
    heads: Optional[int] = typer.Option(None, "--heads", help="attention heads (default 4)"),
    batch_size: int = typer.Option(128, "--batch-size"),
    lr: float = typer.Option(2e-3, "--lr"),
    limit_train: Optional[int] = typer.Option(None, "--limit-train", help="use only the first N training images"),
    threads: int = typer.Option(1, "--threads", help="torch threads (1 is fastest on a shared CPU)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (accuracy mean/std, rates, ACs, MACs)"),
) -> None:
    """Train the spiking ViT for each seed and report test accuracy, firing rates, ACs/MACs, energy."""
    _threads(threads)
    from otters.data.images import load_images
    from otters.errors import OttersError
    from otters.train.vit import TrainSettings, run_experiment

    if seeds < 1:
        raise OttersError(f"--seeds must be >= 1, got {seeds}")
    images = load_images(data, data_dir)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, limit_train=limit_train)

    def log(entry: dict) -> None:
        print(f"epoch {entry['epoch']}: loss {entry['train_loss']:.4f}, val acc {entry['val_accuracy']:.4f} "
              f"({entry['epoch_seconds']:.0f} s)", file=sys.stderr)

    summary = run_experiment(images, attention, T, settings, list(range(seeds)), out, progress=sys.stderr.isatty(),
                             log=log, dim=dim, depth=depth, heads=heads)
    if as_json:
        brief = {k: v for k, v in summary.items() if k != "runs"}
        brief["firing_rates"] = [r["ops"]["firing_rates"] for r in summary["runs"]]
        brief["test_accuracy"] = [r["test_accuracy"] for r in summary["runs"]]
        print(json.dumps(brief, sort_keys=True))
        return
    _print_summary([
        ("test accuracy (mean +- std)", f"{summary['test_accuracy_mean']:.4f} +- {summary['test_accuracy_std']:.4f}"),
        ("seeds", str(len(summary["runs"]))),
        ("ACs / image", f"{summary['acs_per_image_mean']:.4g}"),
        ("MACs / image", f"{summary['macs_per_image_mean']:.4g}"),
        ("attention ACs / image", f"{summary['attn_acs_per_image_mean']:.4g}"),
        ("attention MACs / image", f"{summary['attn_macs_per_image_mean']:.4g}"),
        ("energy / image (uJ, 45 nm ops only)", f"{summary['energy_uJ_mean']:.4g}"),
        ("train time / seed (s)", f"{summary['train_seconds_mean']:.0f}"),
    ], f"{data}, attention {attention}, T = {T}")


@vit_app.command("eval")
def eval_command(
    checkpoint: Path = typer.Argument(..., help="checkpoint directory (model.safetensors + config.json)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder of the data set, if not the default"),
    split: str = typer.Option("test", "--split", help="test or val"),
    threads: int = typer.Option(1, "--threads"),
    table: str = typer.Option("45nm", "--table", help="energy cost table of otters.energy: 45nm, 22nm or a JSON file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Evaluate a trained ViT checkpoint: accuracy, firing rates, ACs/MACs and energy per image."""
    _threads(threads)
    from otters.data.images import load_images
    from otters.errors import OttersError
    from otters.train.vit import energy_per_image, evaluate_vit, load_vit

    import torch

    if split not in ("test", "val"):
        raise OttersError(f"--split must be test or val, got {split!r}")
    model, meta = load_vit(checkpoint)
    images = load_images(meta["data"], data_dir)
    x, y = (images.test_x, images.test_y) if split == "test" else (images.val_x, images.val_y)
    result = evaluate_vit(model, x, y, torch.tensor(meta["mean"]), torch.tensor(meta["std"]), count_ops=True)
    result["energy_per_image"] = energy_per_image(result["acs_per_image"], result["macs_per_image"], table)
    result.update({"checkpoint": str(checkpoint), "split": split, "attention": meta["config"]["attention"]})
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    _print_summary([
        ("accuracy", f"{result['accuracy']:.4f}"),
        ("ACs / image", f"{result['acs_per_image']:.4g}"),
        ("MACs / image", f"{result['macs_per_image']:.4g}"),
        ("attention ACs / image", f"{result['attn_acs_per_image']:.4g}"),
        ("attention MACs / image", f"{result['attn_macs_per_image']:.4g}"),
        (f"energy / image (uJ, {table}, ops only)", f"{result['energy_per_image']['uJ']:.4g}"),
    ], f"{checkpoint} on {meta['data']} {split}")


def register(app: typer.Typer) -> None:
    """Add the ``vit`` command group to the main app."""
    app.add_typer(vit_app, name="vit")
