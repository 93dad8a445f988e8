"""What a finished teacher scores: full-precision evaluation of a Hugging Face folder, and its report."""

from __future__ import annotations

import os
from pathlib import Path

from otters.data.splits import load_split
from otters.data.tasks import check_head_fits_task, get_task
from otters.data.tokenize import encode, load_tokenizer
from otters.errors import OttersError
from otters.state_schema import read_json_object
from otters.teacher.cache import TEACHER_FILE, is_teacher_dir
from otters.teacher.model import load_model
from otters.train.common import set_threads
from otters.train.predict import split_metrics


def evaluate_teacher(path: Path, task: str, split: str, data_dir, max_len: int | None = None,
                     batch_size: int = 64, threads: int = 2) -> dict:
    """Full-precision GLUE metrics of a Hugging Face sequence-classification folder: {"n", "metrics"}.

    Rows are cut at the ``max_len`` the teacher was trained with (its ``teacher.json``), else 128.
    """
    path = Path(path)
    spec = get_task(task)
    rows = load_split(spec, split, data_dir)
    if rows.labels is None:
        raise OttersError(f"{spec.name} {split} has no labels (GLUE test labels are not public); use --split dev")
    if max_len is None and (path / TEACHER_FILE).is_file():
        max_len = (read_json_object(path / TEACHER_FILE).get("settings") or {}).get("max_len")
    set_threads(threads)
    model = load_model(path)
    check_head_fits_task(model.config.num_labels, spec, path)
    encoded = encode(load_tokenizer(path), rows, int(max_len or 128))
    return {"n": len(rows), "metrics": split_metrics(model, spec, encoded, batch_size)}


def teacher_report(path: str | os.PathLike, data_dir=None, splits: tuple = ("validation", "test"),
                   command: str | None = None) -> dict:
    """A results record of a finished teacher: its settings, wall time, and metrics on ``splits``.

    Splits without labels or files (GLUE test, a missing dev file) are skipped and listed as such.
    """
    path = Path(path)
    if not is_teacher_dir(path):
        raise OttersError(f"{path} is not a finished teacher (no {TEACHER_FILE})")
    info = read_json_object(path / TEACHER_FILE)
    report = {
        "task": info["task"], "command": command, "checkpoint": str(path), "base_model": info["base_model"],
        "settings": info["settings"], "main_metric": info["main_metric"], "train_rows": info["train_rows"],
        "wall_s": info["wall_s"], "threads": info["threads"], "best_step": (info.get("best") or {}).get("step"),
        "history": [{"step": r["step"], "validation": r["validation"]} for r in info.get("history", [])],
        "metrics": {}, "skipped": {},
    }
    for key in ("decontamination", "intermediate"):
        if info.get(key):
            report[key] = info[key]
    if info.get("intermediate"):  # the time of both stages: what reproducing the teacher costs
        report["total_wall_s"] = round(info["wall_s"] + info["intermediate"]["wall_s"], 1)
    for split in splits:
        try:
            result = evaluate_teacher(path, info["task"], split, data_dir)
        except OttersError as exc:
            report["skipped"][split] = str(exc)
            continue
        report["metrics"][split] = {"n": result["n"], **result["metrics"]}
    return report
