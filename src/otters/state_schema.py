"""Schemas of the JSON state files a run reads back: each is checked on load, field by field.

A damaged or hand-edited state file (a list instead of an object, a missing or mistyped field, a
file name that leaves the run folder) is refused with one line naming the file and the field,
instead of failing later with a KeyError or TypeError deep inside a resumed run. The files:
``run.json`` (``otters run``), ``distill.json`` (``otters distill``), ``latest.json`` (the trainer's
checkpoint pointer) and ``state.json`` (teacher fine-tuning).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Callable

from otters.errors import OttersError
from otters.io import read_json

_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.safetensors$")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def count(v) -> bool:
    """A non-negative integer."""
    return _is_int(v) and v >= 0


def number(v) -> bool:
    """A finite number."""
    return _is_number(v)


def optional_number(v) -> bool:
    return v is None or _is_number(v)


def obj(v) -> bool:
    """A JSON object."""
    return isinstance(v, dict)


def array(v) -> bool:
    return isinstance(v, list)


def text(v) -> bool:
    return isinstance(v, str)


def anything(v) -> bool:
    return True


_DESCRIBE = {count: "a non-negative integer", number: "a finite number", optional_number: "a number or null",
             obj: "an object", array: "a list", text: "a string", anything: "a value"}

Spec = dict[str, Callable[[Any], bool]]


def check_fields(data: Any, spec: Spec, path: str | os.PathLike, prefix: str = "", optional: tuple[str, ...] = ()) -> dict:
    """``data`` must be an object with every field of ``spec`` (except ``optional`` ones) passing its check."""
    where = f"field {prefix.rstrip('.')!r}" if prefix else "the top level"
    if not isinstance(data, dict):
        raise OttersError(f"{path}: {where} must be a JSON object, got {type(data).__name__}; "
                          "the file is damaged: restore it or start a new run")
    for name, ok in spec.items():
        if name not in data:
            if name in optional:
                continue
            raise OttersError(f"{path}: field {prefix + name!r} is missing; the file is damaged: restore it or "
                              "start a new run")
        if not ok(data[name]):
            raise OttersError(f"{path}: field {prefix + name!r} must be {_DESCRIBE.get(ok, 'valid')}, got "
                              f"{_short(data[name])}; the file is damaged: restore it or start a new run")
    return data


def _short(value) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 40 else text_[:37] + "..."


def optional_text(v) -> bool:
    return v is None or isinstance(v, str)


_DESCRIBE[optional_text] = "a string or null"


def read_run_state(path: str | os.PathLike) -> dict:
    """``run.json`` of ``otters run``: format, created, settings (task, profile, seed, folders), steps
    {name: {wall_s, result}}."""
    data = check_fields(read_json(path), {"format": count, "created": number, "settings": obj, "steps": obj}, path,
                        optional=("created", "steps"))
    check_fields(data["settings"], {"task": text, "profile": obj, "seed": count, "data_dir": optional_text,
                                    "model_dir": optional_text, "teacher": optional_text}, path, prefix="settings.",
                 optional=("data_dir", "model_dir", "teacher"))
    check_fields(data["settings"]["profile"], {"name": text, "teacher": obj, "distill": obj, "robustness": obj}, path,
                 prefix="settings.profile.", optional=("teacher", "distill", "robustness"))
    for name, step in (data.get("steps") or {}).items():
        check_fields(step, {"wall_s": number, "result": anything}, path, prefix=f"steps.{name}.")
    return data


def read_distill_state(path: str | os.PathLike) -> dict:
    """``distill.json``: settings (an object) and stages (a list of objects)."""
    data = check_fields(read_json(path), {"settings": obj, "stages": array}, path)
    for i, stage in enumerate(data["stages"]):
        check_fields(stage, {"stage": text}, path, prefix=f"stages.{i}.")
    return data


def read_checkpoint_pointer(path: str | os.PathLike) -> dict:
    """``latest.json`` of a trainer checkpoint: step, the tensor files (plain names inside the folder), config."""
    data = check_fields(read_json(path), {"step": count, "files": obj, "config": obj, "world": count}, path,
                        optional=("config", "world"))
    for name, filename in data["files"].items():
        if not (isinstance(filename, str) and _FILE_NAME.match(filename)):
            raise OttersError(f"{path}: field 'files.{name}' must be a .safetensors file name inside "
                              f"{Path(path).parent}, got {_short(filename)}; the checkpoint is damaged, start a new run")
    return data


def read_training_state(path: str | os.PathLike) -> dict:
    """``state.json`` of teacher fine-tuning: the loop counters, optimizer groups and scheduler."""
    data = check_fields(read_json(path), {"state": obj, "param_groups": array, "scheduler": obj}, path)
    check_fields(data["state"], {"epoch": count, "step_in_epoch": count, "global_step": count, "elapsed_s": number},
                 path, prefix="state.")
    for i, group in enumerate(data["param_groups"]):
        check_fields(group, {"params": array}, path, prefix=f"param_groups.{i}.")
    return data


def read_json_object(path: str | os.PathLike) -> dict:
    """A JSON file whose top level must be an object (a record read with ``.get``)."""
    return check_fields(read_json(path), {}, path)
