"""Decontamination: drop training rows whose text overlaps the evaluation text of another task.

Why: SST-2 and ``rt`` are cut from the same Pang & Lee review snippets (Socher et al., EMNLP 2013,
built the Stanford Sentiment Treebank from them), so an intermediate fine-tuning on SST-2 would see
``rt``'s validation and test sentences, whole or as phrases. Before such a run every SST-2 row that
shares text with an ``rt`` evaluation sentence is dropped. The rule (what "shares text" means) is
:mod:`otters.data.textmatch`'s, re-exported here.
"""

from __future__ import annotations

from otters.data.splits import load_split
from otters.data.tasks import get_task
from otters.data.textmatch import (
    OVERLAP_WINDOW,
    OverlapIndex,
    drop_overlapping,
    normalise,
)
from otters.errors import OttersError

__all__ = ["EVALUATION_SPLITS", "OVERLAP_WINDOW", "OverlapIndex", "drop_overlapping", "evaluation_texts", "normalise"]

EVALUATION_SPLITS = ("validation", "test", "dev")


def evaluation_texts(task: str, data_dir=None) -> list[str]:
    """Every sentence of ``task``'s validation, test and dev splits that exist (both sides of pairs)."""
    spec = get_task(task)
    texts: list[str] = []
    found = []
    for split in EVALUATION_SPLITS:
        try:
            rows = load_split(spec, split, data_dir)
        except OttersError:
            continue  # a GLUE directory may lack dev.tsv or test.tsv; rt has no dev split
        found.append(split)
        texts.extend(rows.text_a)
        texts.extend(rows.text_b or [])
    if not found:
        raise OttersError(f"{spec.name} has no evaluation split to decontaminate against; check --data-dir")
    return texts
