"""The published numbers the report sets our results beside (Otters, ICLR 2026, arXiv 2509.18968).

GLUE dev scores in percent (accuracy; QQP/MRPC: accuracy, STS-B: Pearson/Spearman as published),
from the paper's GLUE results table; energy per inference of one attention block on SST-2 (22 nm),
from its energy table; robustness to device variation, from its HAT results (Sec. 5). These are
reference data, not results.
"""

from __future__ import annotations

from dataclasses import dataclass

GLUE_COLUMNS = ("QQP", "MNLI-m", "SST-2", "QNLI", "RTE", "MRPC", "STS-B", "avg")

# model, size, scores in GLUE_COLUMNS order (None: not reported)
GLUE_ROWS = (
    ("BERT-base (teacher)", "418 MB", (91.3, 84.7, 93.3, 91.7, 72.6, 88.2, 89.4, 87.31)),
    ("SpikingBERT", "50M params", (86.82, 78.10, 88.19, 85.20, 66.06, 79.17, 82.20, 80.83)),
    ("SpikeLM", "-", (87.9, 76.0, 86.5, 84.9, 65.3, 78.7, 84.3, 80.51)),
    ("BiT 1-1-1", "13.4 MB", (82.9, 77.1, 87.7, 85.7, 58.8, 79.7, 71.1, 77.57)),
    ("Sorbet (1-bit)", "13.4 MB", (86.5, 77.3, 90.4, 86.1, 60.3, 79.9, 78.1, 79.80)),
    ("Otters", "13.4 MB", (87.67, None, 91.28, None, 68.95, None, None, 83.22)),
)

# Where each published number comes from, as the report cites it.
GLUE_SOURCE = "Otters, ICLR 2026, GLUE results table"
ENERGY_SOURCE = "Otters, ICLR 2026, energy table (SST-2, one attention block, 22 nm)"
ROBUSTNESS_SOURCE = "Otters, ICLR 2026, Sec. 5 (hardware-aware training, SST-2)"

# Our accuracy rows -> the paper's row that plays the same part (teacher: the fine-tuned full-precision BERT;
# the converted SNN: Otters' spiking model, 1-bit weights and K/V, 4-bit activations, T = 15).
OUR_ROW_TO_PAPER = {"teacher": "BERT-base (teacher)", "snn": "Otters"}

# Otters Sec. 5 robustness on SST-2: (model, relative deviation of O(t), accuracy %, what the paper says).
ROBUSTNESS_FACTS = (
    ("base", 0.05, None, "stable up to ~5 % deviation"),
    ("base", 0.12, 73.8, "falls to 73.8 % at 12 %"),
    ("HAT2", 0.20, 80.8, "HAT2 (20 % training noise) holds 80.8 % at 20 % deviation"),
    ("HAT1", 0.12, None, "HAT1 gains 11.5 points over base at 12 %"),
)

# Our task name -> the paper's column of the same task (None: the paper has no such column).
TASK_COLUMN = {"qqp": "QQP", "mnli": "MNLI-m", "sst2": "SST-2", "qnli": "QNLI", "rte": "RTE", "mrpc": "MRPC",
               "stsb": "STS-B"}

ENERGY_ROWS = (
    # model, FC mJ, QKV mJ, total mJ, gain vs BERT
    ("full BERT", 50.35, 8.41, 167.92, 1.00),
    ("Sorbet", 3.39, 1.08, 12.34, 13.61),
    ("SpikingLM", 2.09, 0.46, 7.20, 23.32),
    ("Otters, 4-bit KV", None, None, 4.49, 37.4),
    ("Otters, 1-bit KV", 1.14, 0.33, 4.06, 41.36),
)


def paper_column(task: str) -> str | None:
    """The paper's GLUE column for ``task`` (rt has none: it is a different movie-review corpus than SST-2)."""
    return TASK_COLUMN.get(task)


def paper_score(model: str, column: str | None) -> float | None:
    """The published score of paper row ``model`` in GLUE column ``column`` (None when not reported)."""
    if column is None:
        return None
    for name, _, values in GLUE_ROWS:
        if name == model:
            return values[GLUE_COLUMNS.index(column)]
    raise KeyError(model)


@dataclass
class PaperRow:
    """A published row set beside one of ours: our ``role`` (teacher, snn), the paper's ``model``, its
    ``score`` in GLUE ``column`` (``same_task``: the column is our task's) and where it is published."""

    role: str
    model: str
    column: str
    same_task: bool
    score: float | None
    source: str


def paper_beside(task: str) -> list[PaperRow]:
    """The paper's rows set beside ours: for each of our roles (teacher, SNN) the published row and its score
    in the task's column (rt, having no column, is set beside SST-2, the paper's movie-review task, as a
    loose reference)."""
    column = paper_column(task)
    shown = column or "SST-2"
    return [PaperRow(role=role, model=model, column=shown, same_task=column is not None,
                     score=paper_score(model, shown), source=GLUE_SOURCE)
            for role, model in OUR_ROW_TO_PAPER.items()]


def hat_name(hat) -> str:
    """The paper's names of the training-noise levels (Otters, ICLR 2026, Sec. 5: HAT1 = 10 %, HAT2 = 20 %);
    "base" without noise, "HAT <h>" for other levels."""
    if not hat:
        return "base"
    return {0.1: "HAT1", 0.2: "HAT2"}.get(round(float(hat), 6), f"HAT {float(hat):g}")
