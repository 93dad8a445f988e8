"""The run environment of every trainer: torch threads, quiet transformers, an atomic directory swap
for finished checkpoints, a progress display (rich bar with ETA on a terminal, periodic log lines
otherwise) and an exclusive lock on a training directory.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers.utils import logging as transformers_logging

from otters.errors import OttersError


def set_threads(threads: int = 2) -> None:
    """Cap torch's intra-op threads (the machine is shared)."""
    if threads < 1:
        raise OttersError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


def quiet_transformers() -> None:
    """Silence transformers' weight-loading chatter (the classifier head is new on purpose)."""
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


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
    console = Console(stderr=True)
    if console.is_terminal:
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
    """Hold an exclusive lock on the file ``path`` while the block runs (``filelock.FileLock``: flock on
    POSIX, msvcrt on Windows).

    Two processes training into the same directory would destroy each other's work: the second
    either waits (``wait``) or gets an OttersError. The lock file itself is left in place (removing it
    would race with a waiting process).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise OttersError(f"{what} is busy: another process holds {path}; wait for it to finish") from None
        if log is not None:
            log(f"waiting for another process working on {what} (lock {path})")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
