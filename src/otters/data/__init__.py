"""otters.data: the text tasks (GLUE and Rotten Tomatoes), their splits, tokenisation and metrics.

Main entry points: :func:`load_split` (rows of a task's split), :func:`data_info`,
:func:`compute_metrics` / :func:`main_metric`, :mod:`otters.data.tokenize` for batches, and
:mod:`otters.data.overlap` to drop training rows that share text with another task's evaluation splits.
"""

from otters.data.examples import TextExamples
from otters.data.metrics import compute_metrics, main_metric, metric_names
from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts
from otters.data.splits import SPLITS, available_splits, data_info, load_split
from otters.data.tasks import GLUE_TASKS, TASKS, TaskSpec, get_task

__all__ = [
    "GLUE_TASKS", "SPLITS", "TASKS", "OverlapIndex", "TaskSpec", "TextExamples", "available_splits",
    "compute_metrics", "data_info", "drop_overlapping", "evaluation_texts", "get_task", "load_split", "main_metric",
    "metric_names",
]
