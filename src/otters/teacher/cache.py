"""Where fine-tuned teachers live: one cached folder per (task, base model), named by the base model's hash.

``<cache_root>/teachers/<task>[-minus-<other>]-<model-hash>``, with ``cache_root`` = ``$OTTERS_CACHE``
or ``~/.cache/otters``. A folder is a finished teacher when its ``teacher.json`` exists (it is written
last, by an atomic rename of the whole folder).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from otters.data.tasks import get_task
from otters.data.tokenize import resolve_model_dir

TEACHER_FILE = "teacher.json"


def model_hash(model_dir: str | os.PathLike | None = None) -> str:
    """First 12 hex digits of sha256(config.json + weight files): names the cache of a base model."""
    path = resolve_model_dir(model_dir)
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for name in sorted(p.name for p in path.iterdir() if p.suffix in (".safetensors", ".bin")):
        with open(path / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def cache_root() -> Path:
    """``$OTTERS_CACHE`` if set, else ``~/.cache/otters``."""
    return Path(os.environ.get("OTTERS_CACHE") or Path.home() / ".cache" / "otters").expanduser()


def teacher_cache_dir(task: str, model_dir: str | os.PathLike | None = None,
                      exclude_overlap: str | None = None) -> Path:
    """``<cache_root>/teachers/<task>[-minus-<other>]-<model-hash>``: where :func:`ensure_teacher` keeps a teacher."""
    minus = f"-minus-{get_task(exclude_overlap).name}" if exclude_overlap else ""
    return cache_root() / "teachers" / f"{get_task(task).name}{minus}-{model_hash(model_dir)}"


def intermediate_teacher_dir(task: str, intermediate: str, model_dir: str | os.PathLike | None = None) -> Path | None:
    """Where :func:`ensure_teacher` keeps ``task``'s teacher fine-tuned from a cached ``intermediate`` stage
    (that stage decontaminated against ``task``); None while the intermediate stage is unfinished, because
    the folder's name hashes the stage's weights."""
    stage = teacher_cache_dir(intermediate, model_dir, exclude_overlap=task)
    return teacher_cache_dir(task, stage) if is_teacher_dir(stage) else None


def is_teacher_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a finished teacher (its ``teacher.json`` exists)."""
    return (Path(path) / TEACHER_FILE).is_file()


def lock_path(out_dir: Path) -> Path:
    """The lock file guarding a teacher folder while it is trained (beside it, never inside)."""
    return out_dir.with_name(out_dir.name + ".lock")
