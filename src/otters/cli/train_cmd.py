"""``otters distill``: train a student by knowledge distillation.

Typer command over :func:`otters.distill.run.distill`: parse options, print. Under
``torchrun --nproc-per-node N $(which otters) distill ...`` every process runs the command and joins
one DistributedDataParallel run (NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from otters.distill.checkpoint import RUN_FILE
from otters.distill.loss import DistillWeights
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.io import read_json
from otters.train.tensorboard import tensorboard_sink

_TASK_HELP = "task: cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli or rt"
_DATA_HELP = "GLUE directory holding <TASK>/train.tsv (default: $OTTERS_GLUE_DIR, else ../shared/data/glue)"
_PRESET_HELP = "student preset: bert-fp, qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv"
_TENSORBOARD_HELP = ("also write every stage's training curves (loss, learning rate, validation metrics) to a "
                     "TensorBoard event file in this folder; needs pip install 'otters[tensorboard]'")


def distill_command(
    task: str = typer.Option(..., "--task", "-t", help=_TASK_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help=_PRESET_HELP + " (default otters-1bitkv, "
                                         "or the --init checkpoint's)"),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="fine-tuned HF teacher directory, or minilm-l6 "
                                          "(default: the cached teacher of the task, fine-tuned if absent)"),
    hat: float = typer.Option(0.0, "--hat", help="hardware-aware training noise: 0, 0.1 (HAT1) or 0.2 (HAT2)"),
    stages: str = typer.Option("staged", "--stages", help="staged (fp->W1A4->PTsoftmax->BSPN->1-bit KV), single, "
                               "or a comma list of w1a4,ptsoftmax,bspn,kv1"),
    out: Optional[Path] = typer.Option(None, "--out", help="run directory (default: runs/distill-<task>-<preset>...)"),
    epochs: int = typer.Option(3, "--epochs", help="epochs per stage"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="stop each stage after N steps"),
    seed: int = typer.Option(0, "--seed", help="training seed (data order, initialisation, noise)"),
    resume: bool = typer.Option(False, "--resume", help="continue a killed run in --out where it stopped"),
    batch_size: int = typer.Option(32, "--batch-size", help="global batch size (split over processes)"),
    lr: float = typer.Option(2e-4, "--lr", help="peak learning rate of the weights (steps: 1e-4)"),
    eval_every: int = typer.Option(100, "--eval-every", help="validate (and checkpoint) every N steps"),
    max_len: Optional[int] = typer.Option(None, "--max-len", help="max tokens per example (default: the teacher's)"),
    train_rows: Optional[int] = typer.Option(None, "--train-rows", help="use a seeded subset of N training rows"),
    eval_rows: Optional[int] = typer.Option(None, "--eval-rows", help="use a seeded subset of N validation rows"),
    attention: float = typer.Option(0.0, "--attention-loss", help="weight of the attention-score MSE (Sorbet: 0)"),
    temperature: float = typer.Option(1.0, "--temperature", help="softmax temperature of the logit loss"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:<i>"),
    threads: int = typer.Option(2, "--threads", help="torch threads per process"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar with ETA"),
    coding: str = typer.Option("ttfs", "--coding", help="ttfs, or mttfs (Matterhorn's masked TTFS: silent levels "
                               "calibrated on training sentences, saved in coding.json)"),
    dead_zone: int = typer.Option(0, "--dead-zone", help="dead-zone half-width k the final stage trains with "
                                  "(|q - m| <= k -> silent; docs/matterhorn.md)"),
    init: Optional[Path] = typer.Option(None, "--init", help="fine-tune this student checkpoint instead of starting "
                                        "from the teacher (--stages single; teacher default: the one it records)"),
    calibration_rows: int = typer.Option(256, "--calibration-rows", help="mttfs: training sentences (seeded subset) "
                                         "the silent levels are calibrated on"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as one JSON object"),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help=_TENSORBOARD_HELP),
    transfer: Optional[str] = typer.Option(None, "--transfer", help="also distil on unlabelled in-domain text "
                                           "the teacher labels: rt-plot or sst2-phrases (task rt; decontaminated)"),
    transfer_rows: Optional[int] = typer.Option(None, "--transfer-rows", help="use a seeded subset of N transfer rows"),
    fused_quantizers: bool = typer.Option(False, "--fused-quantizers", help="train every LSQ quantizer through "
                                          "two compiled kernels (torch.compile; same forward values, gradients "
                                          "equal up to float rounding; needs a C++ compiler on CPU)"),
) -> None:
    """Distil a spiking-ready student from a teacher (staged as Sorbet, optional HAT, optional M-TTFS coding and
    dead zone); prints its directory."""
    settings = DistillSettings(task, preset, stages=stages, hat=hat, epochs=epochs, max_steps=max_steps,
                               batch_size=batch_size, lr=lr, eval_every=eval_every, max_len=max_len, seed=seed,
                               train_rows=train_rows, eval_rows=eval_rows,
                               weights=DistillWeights(temperature=temperature, attention=attention), coding=coding,
                               dead_zone=dead_zone, init=None if init is None else str(init),
                               calibration_rows=calibration_rows, fused_quantizers=fused_quantizers,
                               transfer=transfer, transfer_rows=transfer_rows)
    with tensorboard_sink(tensorboard) as sink:
        path = distill(settings, teacher, out_dir=out, resume=resume, data_dir=data_dir, device=device,
                       threads=threads, progress=progress, metrics=sink)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        return
    if as_json:
        print(json.dumps({"student": str(path), **read_json(path / RUN_FILE)}, sort_keys=True))
    else:
        print(path)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command("distill")(distill_command)
