"""Training utilities shared by the teacher and student trainers.

Seeding, AdamW with linear warm-up then linear decay, a JSON-lines metrics log, resumable training
state stored as safetensors + JSON (never pickle), an atomic directory swap for checkpoints, and a
progress display (rich bar with ETA on a terminal, periodic log lines otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from otters.errors import OttersError
from otters.io import atomic_write_json, atomic_write_text, load_tensors, read_json, save_tensors


def set_threads(threads: int = 2) -> None:
    """Cap torch's intra-op threads (the machine is shared)."""
    import torch

    if threads < 1:
        raise OttersError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


def quiet_transformers() -> None:
    """Silence transformers' weight-loading chatter (the classifier head is new on purpose)."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


class MetricsLog:
    """A JSON-lines file of training records, rewritten atomically on every append (it stays small)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.records: list[dict] = []
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self.records.append(json.loads(line))

    def append(self, record: dict) -> None:
        self.records.append(record)
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records))


def save_training_state(directory: str | os.PathLike, model, optimizer, scheduler, state: dict) -> None:
    """Write everything needed to resume: weights, AdamW moments, schedule, RNG, counters.

    Tensors go to safetensors files; the rest (param-group settings, schedule position, counters) to
    JSON. ``state.json`` is written last, so a directory without it is an incomplete save.
    """
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.json").unlink(missing_ok=True)
    save_tensors(directory / "model.safetensors", {k: v for k, v in model.state_dict().items()})
    opt = optimizer.state_dict()
    moments = {f"{idx}.{key}": torch.as_tensor(value) for idx, slots in opt["state"].items()
               for key, value in slots.items()}
    save_tensors(directory / "optimizer.safetensors", moments)
    save_tensors(directory / "rng.safetensors", {"torch": torch.get_rng_state()})
    atomic_write_json(directory / "state.json", {
        "state": state, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict(),
    })


def load_training_state(directory: str | os.PathLike, model, optimizer, scheduler) -> dict | None:
    """Restore what :func:`save_training_state` wrote; returns its ``state`` dict, or None if absent."""
    import torch

    directory = Path(directory)
    if not (directory / "state.json").is_file():
        return None
    saved = read_json(directory / "state.json")
    model.load_state_dict(load_tensors(directory / "model.safetensors"))
    slots: dict[int, dict] = {}
    for key, value in load_tensors(directory / "optimizer.safetensors").items():
        idx, name = key.split(".", 1)
        slots.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": saved["param_groups"]})
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(load_tensors(directory / "rng.safetensors")["torch"])
    return saved["state"]


def replace_dir(new: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Move the finished directory ``new`` to ``final``, replacing any old one with two renames.

    The old directory is first renamed aside, so at every instant ``final`` is either the complete
    old checkpoint, absent, or the complete new one; never a half-written one.
    """
    new, final = Path(new), Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    aside = final.with_name(f".{final.name}.old")
    if aside.exists():
        shutil.rmtree(aside)
    if final.exists():
        os.replace(final, aside)
    os.replace(new, final)
    if aside.exists():
        shutil.rmtree(aside)
    return final


@contextmanager
def progress(total: int, description: str, done: int = 0):
    """Yield ``advance(n=1, note="")``: a rich bar with ETA on a terminal, else a log line every ~2 %."""
    from rich.console import Console

    console = Console(stderr=True)
    if console.is_terminal:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[note]}"),
                      console=console) as bar:
            handle = bar.add_task(description, total=total, completed=done, note="")

            def advance(n: int = 1, note: str = "") -> None:
                bar.update(handle, advance=n, note=note)

            yield advance
        return
    start, state = time.monotonic(), {"done": done, "last": done}
    every = max(total // 50, 1)

    def advance(n: int = 1, note: str = "") -> None:
        state["done"] += n
        if state["done"] - state["last"] >= every or state["done"] >= total:
            state["last"] = state["done"]
            rate = (state["done"] - done) / max(time.monotonic() - start, 1e-9)
            eta = (total - state["done"]) / rate if rate > 0 else float("inf")
            print(f"{description}: {state['done']}/{total} steps, {rate:.2f} steps/s, ETA {eta / 60:.1f} min {note}",
                  file=sys.stderr, flush=True)

    yield advance


@contextmanager
def exclusive_lock(path: str | os.PathLike, what: str, wait: bool = False, log=None):
    """Hold an exclusive advisory lock (``flock``) on the file ``path`` while the block runs.

    Two processes training into the same directory would destroy each other's work: the second
    either waits (``wait``) or gets an OttersError. The lock file itself is left in place (removing it
    would race with a waiting process). No-op where ``fcntl`` is missing (Windows).
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise OttersError(f"{what} is busy: another process holds {path}; wait for it to finish") from None
            if log is not None:
                log(f"waiting for another process working on {what} (lock {path})")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
