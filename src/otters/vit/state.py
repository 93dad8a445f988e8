"""The identity and saved progress of one spiking-ViT run (one attention, one seed), for kill / resume.

A run trains on :class:`otters.train.loop.Trainer`, which after every epoch writes its checkpoint to
``<run>/checkpoint/`` (step-stamped safetensors files for the weights and BatchNorm statistics,
AdamW's tensors and the random states, then the ``latest.json`` pointer, each atomic). The pointer's
``run`` record holds what this module reads back: the run's identity (data, geometry, recipe), epochs
done, global step, the per-epoch history and the time spent so far. A kill at any instant leaves the
last complete epoch on disk, and the resumed run ends bit for bit where an uninterrupted one ends
(same thread count; tested). Nothing is pickled.
"""

from __future__ import annotations

from pathlib import Path

from otters.errors import OttersError
from otters.state_schema import read_checkpoint_pointer
from otters.train.checkpoint import CheckpointStore

STATE_KIND = "otters-vit-train-state"
STATE_DIR = "checkpoint"  # the Trainer's checkpoint folder inside a run folder


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


def saved_progress(run_dir: Path, identity: dict) -> dict | None:
    """The ``run`` record of the state saved in ``run_dir`` (None if there is none), after checking that
    it is a ViT run with the same identity (OttersError otherwise)."""
    store = CheckpointStore(Path(run_dir) / STATE_DIR)
    if not store.exists():
        return None
    record = read_checkpoint_pointer(store.pointer).get("run") or {}
    if record.get("kind") != STATE_KIND:
        raise OttersError(f"{store.pointer} is not a ViT training state; use another --out or --restart")
    check_identity(record.get("identity"), identity, Path(run_dir))
    return record
