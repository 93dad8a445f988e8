"""The overlap rule: when a training text shares text with a protected (evaluation) text.

Texts are compared after :func:`normalise`: lower case, accents stripped (NFKD), and everything but
ASCII letters and digits removed, so the tokenised "you 'd" of SST and the typeset "you’d" of the
review corpus agree. A row overlaps when, normalised,

- it shares any run of ``window`` characters with an evaluation text (about six words at 30), or
- it is shorter than ``window`` and occurs inside an evaluation text, or
- an evaluation text shorter than ``window`` occurs inside it.

The rule is deliberately wide: a short generic phrase ("the worst") found in any evaluation
sentence is dropped too, so no fragment of an evaluation sentence, however small, is trained on.
It sits below :mod:`otters.data.splits` because the splits use it too (SST-2's sentence-level
validation drops every training phrase of its validation sentences); :mod:`otters.data.overlap`
applies it across tasks.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from otters.data.examples import TextExamples
from otters.errors import OttersError

OVERLAP_WINDOW = 30  # characters of normalised text (letters and digits only)


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


def drop_overlapping(rows: TextExamples, index: OverlapIndex) -> tuple[TextExamples, int]:
    """``rows`` without those whose text (either side of a pair) overlaps ``index``; and how many went."""
    keep = [i for i in range(len(rows))
            if not index.overlaps(rows.text_a[i]) and not (rows.text_b and index.overlaps(rows.text_b[i]))]
    return rows.subset(np.asarray(keep, dtype=np.int64)), len(rows) - len(keep)
