"""Resumable training state on disk: model, optimizer and RNG as safetensors, the rest as JSON.

Nothing is pickled. A training checkpoint is a set of step-stamped files
(``model-<step>.safetensors``, ``optim-<step>.safetensors``, ``rng-<step>.safetensors``) plus the
pointer ``latest.json``, written last and atomically: a kill at any instant leaves ``latest.json``
naming a complete older set (files of the set being written are orphans, swept by the next save).
Directories that must change as a whole (the best model) are built in :func:`staging_dir` beside
their target and swapped in by ``otters.train.common.replace_dir`` (two renames).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from otters.errors import OttersError
from otters.io import atomic_write_json, load_tensors, save_tensors
from otters.state_schema import read_checkpoint_pointer

LATEST = "latest.json"


def model_tensors(model: torch.nn.Module) -> dict:
    """The model's state_dict as independent CPU tensors (tied weights cloned: safetensors refuses shared storage)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def load_model_tensors(model: torch.nn.Module, tensors: dict, what: str = "checkpoint") -> None:
    """Copy ``tensors`` into ``model`` (every key must match: a checkpoint of another model is an error)."""
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise OttersError(f"{what} does not fit this model (missing {list(missing)[:3]}, unexpected "
                          f"{list(unexpected)[:3]}); resume with the same preset and task")


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """(tensors, json) of the optimizer's per-parameter state: ``state.<i>.<key>`` tensors, scalars in JSON."""
    tensors, scalars = {}, {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{key}"] = value.detach().to("cpu", copy=True)
            else:
                scalars[f"state.{index}.{key}"] = value
    return tensors, scalars


def load_optimizer_tensors(optimizer: torch.optim.Optimizer, tensors: dict, scalars: dict) -> None:
    """Restore per-parameter state into an optimizer built the same way (its param groups are kept)."""
    state: dict = {}
    for name, value in list(tensors.items()) + list(scalars.items()):
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    groups = optimizer.state_dict()["param_groups"]
    known = {i for g in groups for i in g["params"]}
    if not set(state) <= known:
        raise OttersError("optimizer checkpoint has state for parameters this model lacks; resume with the same preset")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _module_generators(model: torch.nn.Module | None) -> dict:
    if model is None:
        return {}
    found = {}
    for name, module in model.named_modules():
        gen = getattr(module, "generator", None)
        if isinstance(gen, torch.Generator):
            found[name or "<root>"] = gen
    return found


def rng_tensors(model: torch.nn.Module | None = None) -> dict:
    """Every random state a training step may draw from: torch CPU, each CUDA device, module generators."""
    out = {"torch.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            out[f"torch.cuda.{i}"] = state
    for name, gen in _module_generators(model).items():
        out[f"module.{name}"] = gen.get_state()
    return out


def restore_rng(tensors: dict, model: torch.nn.Module | None = None) -> None:
    """Put back the random states saved by :func:`rng_tensors`."""
    torch.set_rng_state(tensors["torch.cpu"])
    cuda = sorted(k for k in tensors if k.startswith("torch.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    for name, gen in _module_generators(model).items():
        key = f"module.{name}"
        if key in tensors:
            gen.set_state(tensors[key])


class CheckpointStore:
    """Step-stamped tensor files + an atomic ``latest.json`` pointer in one directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / LATEST

    def exists(self) -> bool:
        return self.pointer.is_file()

    def save(self, step: int, tensor_files: dict[str, dict], meta: dict) -> None:
        """Write each ``{name: tensors}`` as ``<name>-<step>.safetensors``, then the pointer, then sweep old files."""
        self.root.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, tensors in tensor_files.items():
            filename = f"{name}-{step:08d}.safetensors"
            save_tensors(self.root / filename, tensors)
            files[name] = filename
        atomic_write_json(self.pointer, {**meta, "step": step, "files": files})
        keep = set(files.values()) | {LATEST}
        for path in self.root.iterdir():
            if path.name not in keep and path.suffix == ".safetensors":
                path.unlink(missing_ok=True)

    def load(self) -> tuple[dict, dict[str, dict]]:
        """(meta, {name: tensors}) of the latest complete checkpoint."""
        meta = read_checkpoint_pointer(self.pointer)
        try:
            tensors = {name: load_tensors(self.root / filename) for name, filename in meta["files"].items()}
        except KeyError:
            raise OttersError(f"{self.pointer} lists no files; the checkpoint is damaged, start a new run") from None
        return meta, tensors


def staging_dir(final: str | os.PathLike) -> Path:
    """A fresh empty directory beside ``final`` to build its next version in (then
    ``otters.train.common.replace_dir`` swaps it in with two renames)."""
    final = Path(final)
    staged = final.with_name(final.name + ".staged")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    return staged


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of a JSON-lines file (a torn last line, from a kill mid-write, is dropped)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
