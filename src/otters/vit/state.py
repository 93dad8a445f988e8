"""Per-epoch training state of one spiking-ViT run (one attention, one seed), for kill / resume.

After every epoch :func:`save_state` writes, through :class:`otters.train.checkpoint.CheckpointStore`
(step-stamped safetensors files, then the ``latest.json`` pointer, each atomic):

* ``model-<step>.safetensors``: the state dict (weights and BatchNorm running statistics);
* ``optim-<step>.safetensors``: AdamW's per-parameter tensors (step, exp_avg, exp_avg_sq);
* ``rng-<step>.safetensors``: torch's CPU generator and the generator that draws each epoch's order;
* ``latest.json``: the run's identity (data, geometry, recipe), epochs done, global step, the
  per-epoch history and the time spent so far.

A kill at any instant leaves the last complete epoch on disk; :func:`load_state` puts the model,
optimizer and generators back so that the remaining epochs draw the same batches with the same
learning rates: the resumed run ends bit for bit where an uninterrupted one ends (same thread count;
tested). Nothing is pickled.
"""

from __future__ import annotations

from pathlib import Path

import torch

from otters.errors import OttersError
from otters.train.checkpoint import (
    CheckpointStore, load_model_tensors, load_optimizer_tensors, model_tensors, optimizer_tensors, restore_rng,
    rng_tensors,
)

STATE_KIND = "otters-vit-train-state"
STATE_DIR = "state"


def run_identity(data_summary: dict, config: dict, settings: dict) -> dict:
    """What must be equal for a saved run to be continued (or a finished one reused): the data set,
    the geometry and every recipe field that changes the result (not eval batch size or budget)."""
    recipe = {k: settings[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac", "seed",
                                       "limit_train")}
    return {"data": data_summary, "config": config, "recipe": recipe}


def check_identity(saved: dict | None, wanted: dict, where: Path) -> None:
    """Raise a one-line OttersError when the run saved in ``where`` was started with other settings."""
    if saved is None:
        raise OttersError(f"{where} holds a ViT run without its settings; use another --out or --restart")
    diffs = []
    for part in ("data", "config", "recipe"):
        a, b = saved.get(part, {}), wanted[part]
        diffs += [f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diffs:
        raise OttersError(f"{where} holds a run with other settings ({'; '.join(diffs[:3])}); "
                          f"use another --out, the same options, or --restart")


def has_state(run_dir: Path) -> bool:
    return CheckpointStore(Path(run_dir) / STATE_DIR).exists()


def save_state(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               order_gen: torch.Generator, progress: dict) -> None:
    """Write the state after an epoch (tensors first, the JSON pointer last; both atomic)."""
    optim, scalars = optimizer_tensors(optimizer)
    rng = {**rng_tensors(model), "data_order": order_gen.get_state()}
    meta = {"kind": STATE_KIND, **progress, "optimizer_scalars": scalars}
    CheckpointStore(Path(run_dir) / STATE_DIR).save(int(progress["step"]), {
        "model": model_tensors(model), "optim": optim, "rng": rng}, meta)


def load_state(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               order_gen: torch.Generator, identity: dict) -> dict:
    """Restore model, optimizer and generators from ``run_dir``; returns the progress JSON."""
    store = CheckpointStore(Path(run_dir) / STATE_DIR)
    meta, tensors = store.load()
    if meta.get("kind") != STATE_KIND:
        raise OttersError(f"{store.pointer} is not a ViT training state; use another --out or --restart")
    check_identity(meta.get("identity"), identity, Path(run_dir))
    where = f"ViT state in {run_dir}"
    load_model_tensors(model, tensors["model"], where)
    load_optimizer_tensors(optimizer, tensors["optim"], meta.get("optimizer_scalars", {}))
    rng = tensors["rng"]
    restore_rng(rng, model)
    order_gen.set_state(rng["data_order"])
    return meta
