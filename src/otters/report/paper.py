"""The published numbers the report sets our results beside (PAPERS.md sec. 1.4; Otters, ICLR 2026).

GLUE dev scores in percent (accuracy; QQP/MRPC: accuracy, STS-B: Pearson/Spearman as published);
energy per inference of one attention block on SST-2 (22 nm). These are reference data, not results.
"""

from __future__ import annotations

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
