"""Scores on a task's split: what ``otters eval`` prints and the ``evaluate`` step of ``otters run`` records.

Dispatch: a directory with ``otters.json`` is an otters student checkpoint (QNN/SNN; wired by the
pipeline); a directory with ``config.json`` is a Hugging Face model (a teacher), run in fp mode.
The result is ``{"task", "split", "mode", "n", "metrics": {name: fraction}}``; the metrics are
GLUE's (see :mod:`otters.data.metrics`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from otters.data.metrics import compute_metrics
from otters.data.splits import SPLITS, load_split, seeded_subset
from otters.data.tasks import check_head_fits_task, get_task
from otters.data.tokenize import encode, load_tokenizer
from otters.distill.checkpoint import load_student_checkpoint
from otters.errors import OttersError
from otters.io import read_json
from otters.snn.convert import convert
from otters.state_schema import read_json_object
from otters.teacher.cache import TEACHER_FILE
from otters.teacher.model import load_model
from otters.teacher.report import evaluate_teacher
from otters.train.common import set_threads
from otters.train.predict import predict_each, predict_logits, split_metrics

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
    M-TTFS spiking BERT (Matterhorn; otters.snn.mttfs), equal to it bit for bit.

    Rows are tokenised with the student's tokenizer and max_len (``load_student_checkpoint``) and run in
    length-bucketed batches; returns {"n", "metrics"}.
    """
    if mode == "fp":
        raise OttersError(f"{path} is an otters student: it runs in --mode qnn or --mode snn (fp is for teachers)")
    spec = get_task(task)
    rows = load_split(spec, split, data_dir)
    if rows.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels (GLUE test labels are not public); use --split dev")
    set_threads(threads)
    student = load_student_checkpoint(path)
    check_head_fits_task(student.model.config.num_labels, spec, path)
    encoded = encode(student.tokenizer, rows, student.max_len)
    if mode == "qnn":
        logits = predict_logits(student.model, encoded, batch_size)
    else:
        logits = predict_logits(convert(student.model.eval()), encoded, batch_size)
    return {"n": len(rows), "metrics": compute_metrics(spec, logits, encoded.labels)}


def _recorded_task(path: Path) -> str | None:
    for name in (TEACHER_FILE, STUDENT_FILE):
        if (path / name).is_file():
            task = read_json_object(path / name).get("task")
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


def score_qnn_and_snn(student, task: str, split: str, data_dir=None, rows: int | None = None, seed: int = 0,
                      batch_size: int = 64) -> dict:
    """Metrics of the student's QNN and of its spiking BERT on ``split``, from one pass over the rows.

    Both run on the same padded batches (``otters.train.predict.predict_each``); the SNN's logits are
    compared with the QNN's bit for bit (Otters, ICLR 2026, Proposition 1). Returns {"n", "max_len", "qnn",
    "snn", "logits_equal", "max_abs_logit_diff", "mismatched_rows", "predicted_classes"}.
    """
    spec = get_task(task)
    data = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    loaded = load_student_checkpoint(student)
    model, max_len = loaded.model.eval(), loaded.max_len
    enc = encode(loaded.tokenizer, data, max_len)
    qnn_out, snn_out = predict_each([model, convert(model)], enc, batch_size)
    diff = np.abs(qnn_out.astype(np.float64) - snn_out.astype(np.float64))
    return {"n": len(enc), "max_len": max_len,
            "qnn": compute_metrics(spec, qnn_out, enc.labels), "snn": compute_metrics(spec, snn_out, enc.labels),
            "logits_equal": bool(np.array_equal(qnn_out, snn_out)), "max_abs_logit_diff": float(diff.max()),
            "mismatched_rows": int((qnn_out != snn_out).any(axis=1).sum()),
            "predicted_classes": None if spec.regression else int(np.unique(snn_out.argmax(axis=1)).size)}


def majority_baseline(task: str, split: str, data_dir=None, rows: int | None = None, seed: int = 0) -> dict | None:
    """Metrics of always predicting the training split's most frequent class (None for regression):
    the floor a trained model must clear (a collapsed student scores exactly this)."""
    spec = get_task(task)
    if spec.regression:
        return None
    train = load_split(spec, "train", data_dir)
    majority = int(np.bincount(np.asarray(train.labels, dtype=np.int64), minlength=spec.num_labels).argmax())
    held = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    preds = np.full(len(held), majority, dtype=np.int64)
    return {"n": len(held), "class": spec.label_names[majority], "metrics": compute_metrics(spec, preds, held.labels)}


def score_teacher_subset(teacher, task: str, split: str, data_dir, rows: int, seed: int) -> dict:
    """Metrics of the full-precision teacher on the seeded subset of ``rows`` rows the students are scored on."""
    spec = get_task(task)
    data = seeded_subset(load_split(spec, split, data_dir), rows, seed)
    info = Path(teacher) / TEACHER_FILE
    max_len = (read_json(info).get("settings") or {}).get("max_len", 128) if info.is_file() else 128
    enc = encode(load_tokenizer(teacher), data, int(max_len))
    return {"n": len(enc), "metrics": split_metrics(load_model(teacher), spec, enc)}
