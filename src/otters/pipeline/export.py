"""The run's packed students, copied to the top of the run directory by the report step.

``<run>/student`` (and ``<run>/student-hat0.2`` per HAT level) is a byte-for-byte copy of the
distillation's best checkpoint (safetensors with 1-bit weights stored as bits + JSON + tokenizer), so
``otters eval|verify|audit|energy|sparsity|robustness <run>/student`` work on it directly.

The copy is written to a temporary folder and renamed into place: an interrupted report step leaves
either the previous export or none, never a half-written student.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from otters.errors import OttersError
from otters.report.results import DistillResult


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_student(source, target) -> dict:
    """Copy the student folder ``source`` to ``target`` atomically (temp folder + rename); returns
    {"dir", "source", "files": {name: bytes}, "sha256": of student.safetensors}. Same content: no copy."""
    source, target = Path(source), Path(target)
    if not (source / "otters.json").is_file():
        raise OttersError(f"{source} is not a student checkpoint (no otters.json); resume the run: "
                          f"otters run --resume {target.parent}")
    files = sorted(p.name for p in source.iterdir() if p.is_file())
    same = target.is_dir() and all((target / n).is_file() and _digest(target / n) == _digest(source / n) for n in files)
    if not same:
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in files:
            shutil.copy2(source / name, tmp / name)
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    weights = target / "student.safetensors"
    return {"dir": str(target), "source": str(source), "files": {n: (target / n).stat().st_size for n in files},
            "sha256": _digest(weights) if weights.is_file() else None}


def export_students(run_dir, distilled: DistillResult) -> dict:
    """``<run>/student`` from the base student, ``<run>/student-hat<h>`` from each HAT student."""
    run_dir = Path(run_dir)
    out = {"base": export_student(distilled.student, run_dir / "student")}
    for h in distilled.hat_students:
        out[f"hat{h.hat:g}"] = export_student(h.student, run_dir / f"student-hat{h.hat:g}")
    return out
