"""``otters eval``: score a checkpoint on a task's split, whatever kind of checkpoint it is.

Dispatch: a directory with ``otters.json`` is an otters student checkpoint (QNN/SNN; wired by the
pipeline); a directory with ``config.json`` is a Hugging Face model (a teacher), run in fp mode.
The result is ``{"task", "split", "mode", "n", "metrics": {name: fraction}}``; the metrics are
GLUE's (see :mod:`otters.data.metrics`).
"""

from __future__ import annotations

import os
from pathlib import Path

from otters.data.splits import SPLITS, load_split
from otters.data.tasks import get_task
from otters.errors import OttersError
from otters.io import read_json
from otters.teacher.cache import TEACHER_FILE
from otters.teacher.report import evaluate_teacher

MODES = ("fp", "qnn", "snn")
STUDENT_FILE = "otters.json"


def checkpoint_kind(path: str | os.PathLike) -> str:
    """``"student"`` (has otters.json) or ``"hf"`` (has config.json); anything else is an OttersError."""
    path = Path(path)
    if not path.exists():
        raise OttersError(f"checkpoint not found: {path}")
    if not path.is_dir():
        raise OttersError(f"a checkpoint is a directory (with otters.json or config.json), got the file {path}")
    if (path / STUDENT_FILE).is_file():
        return "student"
    if (path / "config.json").is_file():
        return "hf"
    raise OttersError(f"{path} is not a checkpoint: it has neither {STUDENT_FILE} nor config.json")


def evaluate_student(path: Path, task: str, split: str, mode: str, data_dir, batch_size: int = 64,
                     threads: int = 2) -> dict:
    """GLUE metrics of an otters student checkpoint: ``qnn`` (its integer inference) or ``snn`` (its
    converted spiking BERT on the nominal device, Otters ICLR 2026 Prop. 1: the logits equal the QNN's).
    A checkpoint with a ``coding.json`` runs with it: ``qnn`` is then the dead-zone QNN and ``snn`` the
    M-TTFS spiking BERT (Matterhorn; otters.snn.mttfs.bert), equal to it bit for bit.

    Rows are tokenised with the student's tokenizer and max_len (``load_student_checkpoint``) and run in
    length-bucketed batches; returns {"n", "metrics"}.
    """
    from otters.data.metrics import compute_metrics
    from otters.data.tokenize import encode
    from otters.distill.checkpoint import load_student_checkpoint
    from otters.train.common import set_threads
    from otters.train.predict import predict_logits

    if mode == "fp":
        raise OttersError(f"{path} is an otters student: it runs in --mode qnn or --mode snn (fp is for teachers)")
    spec = get_task(task)
    rows = load_split(spec, split, data_dir)
    if rows.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels (GLUE test labels are not public); use --split dev")
    set_threads(threads)
    student = load_student_checkpoint(path)
    encoded = encode(student.tokenizer, rows, student.max_len)
    if mode == "qnn":
        logits = predict_logits(student.model, encoded, batch_size)
    else:
        from otters.snn.convert import convert

        logits = predict_logits(convert(student.model.eval()), encoded, batch_size)
    return {"n": len(rows), "metrics": compute_metrics(spec, logits, encoded.labels)}


def _recorded_task(path: Path) -> str | None:
    for name in (TEACHER_FILE, STUDENT_FILE):
        if (path / name).is_file():
            task = read_json(path / name).get("task")
            if task:
                return task
    return None


def evaluate_checkpoint(path: str | os.PathLike, task: str | None = None, split: str = "validation",
                        mode: str = "fp", data_dir=None) -> dict:
    """Score checkpoint ``path`` on ``split`` of ``task`` (default: the task recorded in the checkpoint).

    Returns ``{"task", "split", "mode", "n", "metrics"}``; metric values are fractions.
    """
    path = Path(path)
    kind = checkpoint_kind(path)
    if mode not in MODES:
        raise OttersError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    if split not in SPLITS:
        raise OttersError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    task = task or _recorded_task(path)
    if task is None:
        raise OttersError(f"{path} does not record its task; pass --task")
    spec = get_task(task)
    if kind == "student":
        result = evaluate_student(path, spec.name, split, mode, data_dir)
    else:
        if mode != "fp":
            raise OttersError(f"{path} is a Hugging Face model: it runs in fp mode only (mode {mode} needs an "
                              f"otters student checkpoint)")
        result = evaluate_teacher(path, spec.name, split, data_dir)
    return {"task": spec.name, "split": split, "mode": mode, "n": int(result["n"]),
            "metrics": {k: float(v) for k, v in result["metrics"].items()}}
