"""A split of a text task held in memory: sentences (one or two per example) and labels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from otters.data.tasks import TaskSpec


@dataclass
class TextExamples:
    """Rows of one split. ``labels`` is int64 class ids, float32 scores (STS-B), or None (GLUE test).

    ``text_b`` is None for single-sentence tasks; otherwise it is as long as ``text_a``.
    """

    task: TaskSpec
    split: str
    text_a: list
    text_b: list | None
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.text_a)

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def subset(self, indices, split: str | None = None) -> "TextExamples":
        """The rows at ``indices`` (in that order), as a new split called ``split``."""
        idx = np.asarray(indices, dtype=np.int64)
        return TextExamples(
            task=self.task,
            split=split or self.split,
            text_a=[self.text_a[i] for i in idx],
            text_b=None if self.text_b is None else [self.text_b[i] for i in idx],
            labels=None if self.labels is None else self.labels[idx],
        )

    def label_counts(self) -> dict:
        """Rows per class name (classification), or per integer score bin (regression)."""
        if self.labels is None:
            return {}
        if self.task.regression:
            bins = Counter(int(b) for b in score_bins(self.labels))
            return {f"{b}-{b + 1}" if b < 5 else "5": bins[b] for b in sorted(bins)}
        counts = Counter(int(v) for v in self.labels)
        return {name: counts.get(i, 0) for i, name in enumerate(self.task.label_names)}


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Integer bin of each STS-B score: floor(score) clipped to 0..5 (0-1, 1-2, ..., 4-5, exactly 5).

    Used to stratify the validation split of a regression task and to summarise its labels.
    """
    return np.clip(np.floor(np.asarray(scores, dtype=np.float64)), 0, 5).astype(np.int64)
