"""Checks before a run: every library, model and data file it needs, each failure with its one fix.

A missing piece is an OttersError naming the command that fixes it (``bash scripts/setup.sh`` for
the environment, ``--data-dir`` / ``OTTERS_GLUE_DIR`` for GLUE files), raised before any training
starts, so a run never dies an hour in on something knowable at second one.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from pathlib import Path

import torch

from otters.data.splits import available_splits, load_split
from otters.data.tasks import get_task
from otters.data.tokenize import resolve_model_dir
from otters.errors import OttersError

SETUP = "bash scripts/setup.sh"
# (module, what it is for); installed by scripts/setup.sh
REQUIRED = (("torch", "the models"), ("transformers", "the teacher and tokenizers"), ("safetensors", "checkpoints"),
            ("matplotlib", "the report's figures"), ("rich", "progress and tables"), ("scipy", "the device fit"))


def check_libraries() -> None:
    """Every library of :data:`REQUIRED` is importable."""
    missing = [f"{name} ({why})" for name, why in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise OttersError(f"missing Python packages: {', '.join(missing)}; run: {SETUP}")


def check_model(model_dir=None) -> Path:
    """The base model of the teacher (default: the packaged all-MiniLM-L6-v2) exists; returns its folder."""
    try:
        return resolve_model_dir(model_dir)
    except OttersError as exc:
        if model_dir is None and "run:" not in str(exc):
            raise OttersError(f"{exc}; run: {SETUP}") from None
        raise


def evaluation_split(task: str, data_dir=None) -> str:
    """The split scored in the report: rt's held-out ``test``; GLUE's official ``dev`` if its file is
    present, else the ``validation`` split carved from train.tsv (GLUE test labels are not public)."""
    spec = get_task(task)
    if spec.name == "rt":
        return "test"
    return "dev" if "dev" in available_splits(spec, data_dir) else "validation"


def check_data(task: str, data_dir=None) -> dict:
    """The task's training rows can be read; returns {"task", "eval_split", "train_rows", "eval_rows"}."""
    spec = get_task(task)
    hint = (f"run: {SETUP}" if spec.name == "rt" else
            f"pass --data-dir DIR holding {spec.folder}/train.tsv (GLUE layout) or set OTTERS_GLUE_DIR")
    try:
        if spec.name != "rt" and "train" not in available_splits(spec, data_dir):
            raise OttersError(f"no {spec.folder}/train.tsv found")
        train = load_split(spec, "train", data_dir)
        split = evaluation_split(spec.name, data_dir)
        held_out = load_split(spec, split, data_dir)
    except OttersError as exc:
        message = str(exc)
        raise OttersError(message if ("run:" in message or "--data-dir" in message) else f"{message}; {hint}") from None
    if held_out.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels; {hint}")
    return {"task": spec.name, "eval_split": split, "train_rows": len(train), "eval_rows": len(held_out)}


def chromium_path() -> str | None:
    """The headless browser used to check the report (optional; scripts/setup.sh installs it)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def machine() -> dict:
    """What the run ran on: CPU count, torch threads (as set for the run), torch and Python versions,
    platform, accelerator, load average at the start (a loaded machine inflates every wall time)."""
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "processor": platform.machine(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None}


def preflight(task: str, data_dir=None, model_dir=None) -> dict:
    """All checks; returns what they found and the machine (recorded in the run's preflight step)."""
    check_libraries()
    model = check_model(model_dir)
    data = check_data(task, data_dir)
    found = machine()
    return {**data, "base_model": str(model), "chromium": chromium_path(), "machine": found,
            "cpu_count": found["cpu_count"], "load_average": found["load_average"]}
