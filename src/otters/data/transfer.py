"""Transfer text: more sentences for distillation than the task's labelled training split.

Why it works: the distillation loss reads only the teacher's outputs (its logits and hidden states),
never a label, so any in-domain sentence the teacher sees is a training example for the student
(TinyBERT, Jiao et al., EMNLP 2020, Sec. 3.2, distils on an augmented task set for this reason).
The sources, each for the task it is in-domain for:

- ``rt-plot`` (task ``rt``): the plot synopses of the Rotten Tomatoes corpus, which the ``rt``
  loader drops because they carry no polarity, cut into sentences of at least
  :data:`MIN_WORDS` words;
- ``sst2-phrases`` (task ``rt``): SST-2's training rows (phrases and sentences of movie reviews).

Every source is decontaminated against the task's validation and test sentences with the rule of
:mod:`otters.data.overlap` (SST-2 was cut from the same review snippets as ``rt``: without this
step, 437 of ``rt``'s 1,276 test sentences would be in the text). No source is offered for an SST-2
student: the only extra text here, ``rt``'s snippets, holds SST-2's own dev and test sentences.
"""

from __future__ import annotations

import re

from otters.data.examples import TextExamples
from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts
from otters.data.rt import read_rt_plots
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import get_task
from otters.errors import OttersError

TRANSFER_SOURCES = {"rt": ("rt-plot", "sst2-phrases")}
MIN_WORDS = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def plot_sentences(synopses: list[str]) -> list[str]:
    """The sentences of the synopses (split after . ! or ? and white space), each of >= MIN_WORDS words."""
    sentences = (part.strip() for text in synopses for part in _SENTENCE_END.split(text))
    return [s for s in sentences if len(s.split()) >= MIN_WORDS]


def check_transfer_source(task: str, source: str) -> None:
    """Refuse a source that is not offered for ``task`` (one line: what is offered, or why none is)."""
    name = get_task(task).name
    offered = TRANSFER_SOURCES.get(name, ())
    if source in offered:
        return
    if name == "sst2":
        raise OttersError("no transfer text for sst2: rt's snippets hold SST-2's dev and test sentences "
                          "(SST was cut from them), so training on them would leak the evaluation data")
    shown = ", ".join(offered) if offered else "none"
    raise OttersError(f"transfer text {source!r} is not offered for {name} (offered: {shown})")


def transfer_texts(task: str, source: str, data_dir=None, rows: int | None = None, seed: int = 0) -> TextExamples:
    """Unlabelled rows of ``source`` for ``task``'s student, decontaminated; ``rows``: a seeded subset.

    The rows belong to ``task`` (its spec, one text per row) with ``labels`` None: distillation uses the
    teacher's outputs on them, nothing else.
    """
    check_transfer_source(task, source)
    spec = get_task(task)
    if source == "rt-plot":
        texts = plot_sentences(read_rt_plots())
    else:
        texts = list(load_split("sst2", "train", data_dir).text_a)
    unique = list(dict.fromkeys(texts))
    extra = TextExamples(spec, "transfer", unique, None, None)
    extra, _ = drop_overlapping(extra, OverlapIndex(evaluation_texts(spec.name, data_dir)))
    if not len(extra):
        raise OttersError(f"no {source} text is left after removing what overlaps {spec.name}'s evaluation splits")
    return seeded_subset(extra, rows, seed)
