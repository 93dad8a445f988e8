"""The GLUE table: our spiking students scored with each task's GLUE metric, beside the published rows.

Metrics (GLUE, Wang et al., ICLR 2019, Table 1): CoLA Matthews correlation; SST-2, MNLI-m, QNLI, RTE
accuracy; MRPC and QQP F1 / accuracy; STS-B Pearson / Spearman correlation. Every number is x 100.

The published rows are those of the comparison on GLUE dev in "Otters: An Energy-Efficient Spiking
Transformer via Optical Time-to-First-Spike Encoding" (ICLR 2026), its main GLUE results table,
which quotes BERT-base (the teacher), SpikingBERT, SpikeLM, BiT 1-1-1 and Sorbet (1-bit) from their
papers; CoLA is not in it. That table gives one number per task (for MRPC, QQP and STS-B it does not
say which of the two metrics); the paper reports the best dev checkpoint of each run. Of
SpikingBERT's row only SST-2, RTE, QQP and the average could be checked against a copy of the table;
its other four columns agree with that average.

Ours: each student checkpoint (``otters.json``) is scored as its spiking network (``--mode snn``;
bit-identical to its QNN, Otters Proposition 1) on ``split`` of its own task: ``validation`` (the
project's carve of train.tsv; SST-2's is held-out sentences) or ``dev`` (the official GLUE dev file
a user supplies with ``data_dir``). rt is not a GLUE task: its column uses rt's test split when
``dev`` is asked for (rt has no dev set).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from otters.data.glue import glue_file
from otters.data.tasks import get_task
from otters.errors import OttersError
from otters.io import read_json
from otters.studies.evaluation import STUDENT_FILE, evaluate_checkpoint

TABLE_SPLITS = ("validation", "dev")
DISTILL_FILE = "distill.json"  # what otters distill records (settings, stages)
OTTERS_GLUE_TABLE = "Otters (ICLR 2026), GLUE dev results table"


@dataclass(frozen=True)
class Column:
    """One task column: its heading and the metric(s) shown, in order (fractions from compute_metrics)."""

    task: str
    heading: str
    metrics: tuple[str, ...]


# Paper order (Otters' table: QQP, MNLI-m, SST-2, QNLI, RTE, MRPC, STS-B), CoLA first as in GLUE, rt last.
COLUMNS = (
    Column("cola", "CoLA (MCC)", ("matthews",)),
    Column("qqp", "QQP (F1/acc)", ("f1", "accuracy")),
    Column("mnli", "MNLI-m (acc)", ("accuracy",)),
    Column("sst2", "SST-2 (acc)", ("accuracy",)),
    Column("qnli", "QNLI (acc)", ("accuracy",)),
    Column("rte", "RTE (acc)", ("accuracy",)),
    Column("mrpc", "MRPC (F1/acc)", ("f1", "accuracy")),
    Column("stsb", "STS-B (P/S)", ("pearson", "spearman")),
    Column("rt", "rt (acc)", ("accuracy",)),
)
COLUMN_TASKS = tuple(c.task for c in COLUMNS)


@dataclass(frozen=True)
class PaperRow:
    """A published row: score per task (x 100, as printed) and where it comes from."""

    model: str
    source: str
    scores: dict[str, float]
    average: float | None = None


def _row(model, source, qqp, mnli, sst2, qnli, rte, mrpc, stsb, average):
    values = {"qqp": qqp, "mnli": mnli, "sst2": sst2, "qnli": qnli, "rte": rte, "mrpc": mrpc, "stsb": stsb}
    return PaperRow(model, source, {k: v for k, v in values.items() if v is not None}, average)


# Otters (ICLR 2026), GLUE dev results table; its average is over QQP, MNLI-m, SST-2, QNLI, RTE, MRPC,
# STS-B. Otters' own row prints three of the seven columns.
PAPER_ROWS = (
    _row("BERT-base (teacher)", f"Devlin et al., NAACL 2019; as quoted in {OTTERS_GLUE_TABLE}",
         91.3, 84.7, 93.3, 91.7, 72.6, 88.2, 89.4, 87.31),
    _row("SpikingBERT", f"Bal & Sengupta, AAAI 2024; as quoted in {OTTERS_GLUE_TABLE}",
         86.82, 78.10, 88.19, 85.20, 66.06, 79.17, 82.20, 80.83),
    _row("SpikeLM", f"Xing et al., ICML 2024; as quoted in {OTTERS_GLUE_TABLE}",
         87.9, 76.0, 86.5, 84.9, 65.3, 78.7, 84.3, 80.51),
    _row("BiT 1-1-1", f"Liu et al., NeurIPS 2022; as quoted in {OTTERS_GLUE_TABLE}",
         82.9, 77.1, 87.7, 85.7, 58.8, 79.7, 71.1, 77.57),
    _row("Sorbet (1-bit)", f"Sorbet, ICML 2025; as quoted in {OTTERS_GLUE_TABLE}",
         86.5, 77.3, 90.4, 86.1, 60.3, 79.9, 78.1, 79.80),
    _row("Otters (1-bit KV)", OTTERS_GLUE_TABLE, 87.67, None, 91.28, None, 68.95, None, None, 83.22),
)


@dataclass(frozen=True)
class TaskScore:
    """One of our students on one task: its SNN's GLUE metrics (fractions) on ``split`` (n rows)."""

    task: str
    checkpoint: str
    split: str
    n: int
    metrics: dict[str, float]

    def cell(self, column: Column) -> str:
        """The column's metrics x 100, joined by '/' (e.g. MRPC '84.12/77.72')."""
        return "/".join(f"{100 * self.metrics[m]:.2f}" for m in column.metrics)


@dataclass
class GlueTable:
    """Our scores (one per task found) and the published rows; ``skipped`` says why a checkpoint has none."""

    split: str
    scores: list[TaskScore]
    paper_rows: tuple[PaperRow, ...] = PAPER_ROWS
    skipped: list[str] = field(default_factory=list)


def default_checkpoints(root: str | os.PathLike) -> list[Path]:
    """The committed students under ``root``: ``<task>-otters-1bitkv`` for each table column present."""
    root = Path(root)
    return [root / f"{task}-otters-1bitkv" for task in COLUMN_TASKS
            if (root / f"{task}-otters-1bitkv" / STUDENT_FILE).is_file()]


def _task_of(path: Path) -> str:
    if not (path / STUDENT_FILE).is_file():
        raise OttersError(f"{path} is not a student checkpoint (no {STUDENT_FILE}); the GLUE table scores "
                          f"spiking students (otters distill output)")
    record = path / DISTILL_FILE
    task = (read_json(record).get("settings") or {}).get("task") if record.is_file() else None
    if not task:
        raise OttersError(f"{path} does not record its task (no settings.task in {DISTILL_FILE}); "
                          f"is it an otters distill output?")
    return get_task(task).name


def _split_for(task: str, split: str) -> str:
    return "test" if task == "rt" and split == "dev" else split


def _has_data(task: str, split: str, data_dir) -> bool:
    if task == "rt":
        return True
    return glue_file(task, "dev" if split == "dev" else "train", data_dir).is_file()


def glue_table(checkpoints: list[str | os.PathLike], data_dir=None, split: str = "validation") -> GlueTable:
    """Score every student in ``checkpoints`` (SNN) on ``split`` of its task; see the module docstring.

    One checkpoint per task; a task whose data file is not in ``data_dir`` is skipped with a note.
    """
    if split not in TABLE_SPLITS:
        raise OttersError(f"unknown split {split!r} for the GLUE table; choose one of: {', '.join(TABLE_SPLITS)}")
    if not checkpoints:
        raise OttersError("no student checkpoints to score; pass CKPT folders (otters distill output)")
    by_task: dict[str, Path] = {}
    for ckpt in checkpoints:
        path = Path(ckpt)
        if not path.is_dir():
            raise OttersError(f"checkpoint folder not found: {path}")
        task = _task_of(path)
        if task not in COLUMN_TASKS:
            raise OttersError(f"{path} is a {task} student; the GLUE table has columns for "
                              f"{', '.join(COLUMN_TASKS)}")
        if task in by_task:
            raise OttersError(f"two {task} students ({by_task[task]}, {path}); pass one checkpoint per task")
        by_task[task] = path
    scores, skipped = [], []
    for task in COLUMN_TASKS:
        if task not in by_task:
            continue
        task_split = _split_for(task, split)
        if not _has_data(task, split, data_dir):
            skipped.append(f"{task}: no {split} data ({glue_file(task, 'dev' if split == 'dev' else 'train', data_dir)})")
            continue
        result = evaluate_checkpoint(by_task[task], task, task_split, "snn", data_dir)
        scores.append(TaskScore(task, str(by_task[task]), task_split, result["n"], result["metrics"]))
    return GlueTable(split, scores, PAPER_ROWS, skipped)


def table_rows(table: GlueTable) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the printed table: the published rows, then ours; '-' where a row has no number."""
    columns = [c for c in COLUMNS if c.task != "rt" or any(s.task == "rt" for s in table.scores)]
    header = ["model", *[c.heading for c in columns], "avg (7 tasks)", "source"]
    rows = []
    for paper in table.paper_rows:
        cells = [f"{paper.scores[c.task]:.2f}" if c.task in paper.scores else "-" for c in columns]
        rows.append([paper.model, *cells, f"{paper.average:.2f}" if paper.average is not None else "-", paper.source])
    ours = {s.task: s for s in table.scores}
    cells = [ours[c.task].cell(c) if c.task in ours else "-" for c in columns]
    splits = sorted({s.split for s in table.scores}) or [table.split]
    rows.append([f"ours: Otters-1bitKV SNN ({'/'.join(splits)})", *cells, "-",
                 "this repository, otters glue-table"])
    return header, rows
