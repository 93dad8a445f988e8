"""SST-2's sentence-level validation: held-out full sentences, none of their phrases trained on.

Why: SST-2's ``train.tsv`` holds every phrase of each training sentence's parse tree (Socher et al.,
EMNLP 2013, "Recursive deep models for semantic compositionality over a sentiment treebank"), about
ten rows per sentence. A random 5 % of its rows is mostly short phrases whose sentences, and sibling
phrases, stay in training, while GLUE's dev set (Wang et al., ICLR 2019) is full sentences. A model
selected on such a split is selected for phrases, and scores several points higher there than on
unseen sentences.

The split, on the rows of ``train.tsv``:

- a *full sentence* is a row whose text (whitespace collapsed) is not contained, at word boundaries,
  in any longer row; a text that occurs in several rows counts once (its first row);
- ``validation``: :data:`SENTENCE_VALIDATION_FRACTION` of the full sentences, stratified by label,
  seed :data:`otters.data.splits.SPLIT_SEED` (on the shared file: 861 of 6,885 sentences);
- ``train``: every other row, minus each row that overlaps a validation sentence by the rule of
  :mod:`otters.data.textmatch` (its phrases, and any row sharing a 30-character run with it).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

SENTENCE_VALIDATION_FRACTION = 0.125  # of the full sentences: >= 800 sentences on SST-2's train.tsv


def full_sentences(texts: list[str]) -> np.ndarray:
    """Sorted row indices of the texts not contained (at word boundaries) in any longer text; one row per
    distinct text (its first).

    Containment is tested against the longer rows that hold the text's rarest word only, so the
    search costs about a second on SST-2's 67,349 rows instead of a pairwise scan.
    """
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        first.setdefault(" ".join(text.split()), i)
    distinct = sorted(first, key=len, reverse=True)  # position = rank by length, longest first
    padded = [f" {t} " for t in distinct]
    holders: dict[str, list[int]] = defaultdict(list)  # word -> positions of the texts holding it
    for pos, text in enumerate(distinct):
        for word in set(text.split()):
            holders[word].append(pos)
    found = []
    for pos, text in enumerate(distinct):
        words = set(text.split())
        if not words:
            continue
        rarest = min(words, key=lambda w: len(holders[w]))
        needle, size = padded[pos], len(padded[pos])
        contained = False
        for other in holders[rarest]:  # longest first: stop at the first text not longer than this one
            if len(padded[other]) <= size:
                break
            if needle in padded[other]:
                contained = True
                break
        if not contained:
            found.append(first[text])
    return np.sort(np.asarray(found, dtype=np.int64))
