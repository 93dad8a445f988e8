"""Decontamination: drop training rows whose text overlaps the evaluation text of another task.

Why: SST-2 and ``rt`` are cut from the same Pang & Lee review snippets (Socher et al., EMNLP 2013,
built the Stanford Sentiment Treebank from them), so an intermediate fine-tuning on SST-2 would see
``rt``'s validation and test sentences, whole or as phrases. Before such a run every SST-2 row that
shares text with an ``rt`` evaluation sentence is dropped.

Texts are compared after :func:`normalise`: lower case, accents stripped (NFKD), and everything but
ASCII letters and digits removed, so the tokenised "you 'd" of SST and the typeset "you’d" of the
review corpus agree. A row overlaps when, normalised,

- it shares any run of ``window`` characters with an evaluation text (about six words at 30), or
- it is shorter than ``window`` and occurs inside an evaluation text, or
- an evaluation text shorter than ``window`` occurs inside it.

The rule is deliberately wide: a short generic phrase ("the worst") found in any evaluation
sentence is dropped too, so no fragment of an evaluation sentence, however small, is trained on.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from otters.data.examples import TextExamples
from otters.data.splits import load_split
from otters.data.tasks import get_task
from otters.errors import OttersError

OVERLAP_WINDOW = 30  # characters of normalised text (letters and digits only)
EVALUATION_SPLITS = ("validation", "test", "dev")


def normalise(text: str) -> str:
    """Lower-cased ASCII letters and digits of ``text``, accents stripped: the form texts are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


class OverlapIndex:
    """The evaluation texts to protect, indexed for :meth:`overlaps` (see the module docstring)."""

    def __init__(self, texts, window: int = OVERLAP_WINDOW):
        if window < 1:
            raise OttersError(f"overlap window must be at least 1 character, got {window}")
        self.window = window
        refs = [r for r in (normalise(t) for t in texts if t) if r]
        self.size = len(refs)
        self._windows = {r[i:i + window] for r in refs if len(r) >= window for i in range(len(r) - window + 1)}
        self._short_refs = sorted({r for r in refs if len(r) < window})
        self._joined = "\n".join(refs)  # "\n" never occurs in a normalised text, so no match spans two

    def overlaps(self, text: str | None) -> bool:
        """True when ``text`` shares protected text."""
        norm = normalise(text or "")
        if not norm:
            return False
        if len(norm) < self.window:
            if norm in self._joined:
                return True
        elif any(norm[i:i + self.window] in self._windows for i in range(len(norm) - self.window + 1)):
            return True
        return any(ref in norm for ref in self._short_refs)


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


def drop_overlapping(rows: TextExamples, index: OverlapIndex) -> tuple[TextExamples, int]:
    """``rows`` without those whose text (either side of a pair) overlaps ``index``; and how many went."""
    keep = [i for i in range(len(rows))
            if not index.overlaps(rows.text_a[i]) and not (rows.text_b and index.overlaps(rows.text_b[i]))]
    return rows.subset(np.asarray(keep, dtype=np.int64)), len(rows) - len(keep)
