"""The splits every command uses: one place decides which rows train, select and test a model.

GLUE tasks (official dev sets are the project's held-out results, so nothing is tuned on them):
- ``train``: ``train.tsv`` minus the validation rows (SST-2: and minus every row overlapping them);
- ``validation``: 5 % of ``train.tsv``, stratified by label (STS-B: by integer score bin), drawn
  with the fixed seed :data:`SPLIT_SEED`; checkpoints are selected on it. SST-2's is its
  *sentence-level validation* instead: 12.5 % of its full sentences, whose phrases leave training
  (:mod:`otters.data.sentences` says why and how);
- ``dev``: the official dev file (MNLI: dev_matched, mnli-mm: dev_mismatched), read only by
  ``otters eval --split dev``;
- ``test``: the official test file (no labels: GLUE scores it on its server).
``rt``: 80 / 10 / 10 stratified train / validation / test of the unique reviews, seed :data:`RT_SEED`.

Stratified draws use scikit-learn's ``train_test_split``; a split too small to stratify (fewer rows
in some class than the draw needs, as in tiny hand-made files) falls back to a plain seeded draw.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from otters.data.examples import TextExamples, score_bins
from otters.data.glue import glue_file, load_glue_file, resolve_glue_dir
from otters.data.rt import read_rt_corpus
from otters.data.sentences import SENTENCE_VALIDATION_FRACTION, full_sentences
from otters.data.tasks import TaskSpec, get_task
from otters.data.textmatch import OverlapIndex, normalise
from otters.errors import OttersError

SPLIT_SEED = 20240917  # seed of the GLUE validation carve (never change: it defines the splits)
VALIDATION_FRACTION = 0.05
RT_SEED = 20240918  # seed of the rt 80/10/10 split
RT_FRACTIONS = (0.8, 0.1, 0.1)

SPLITS = ("train", "validation", "dev", "test")


def _strata(examples: TextExamples) -> np.ndarray:
    if examples.labels is None:
        raise OttersError(f"{examples.task.name} {examples.split} has no labels to stratify on")
    return score_bins(examples.labels) if examples.task.regression else examples.labels


def stratified_holdout(strata: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out), each sorted: ``fraction`` of the rows held out, stratified by ``strata``.

    Held-out size ceil(fraction * n) as in scikit-learn's ``train_test_split``; every stratum keeps
    its share up to rounding. Falls back to an unstratified seeded draw when a stratum is too small.
    """
    n = len(strata)
    if n < 2:
        raise OttersError(f"need at least 2 rows to hold some out, got {n}")
    index = np.arange(n)
    try:
        kept, held = train_test_split(index, test_size=fraction, stratify=strata, random_state=seed)
    except ValueError:  # a class with a single member, or fewer held-out rows than classes
        kept, held = train_test_split(index, test_size=fraction, random_state=seed)
    return np.sort(kept), np.sort(held)


def seeded_indices(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``min(limit, n)`` of ``n`` rows drawn without replacement with ``seed``
    (all ``n`` when ``limit`` is None): the first ``limit`` of a seeded NumPy permutation."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 0:
        raise OttersError(f"a row limit must be >= 0, got {limit}")
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def seeded_subset(rows: TextExamples, limit: int | None, seed: int) -> TextExamples:
    """The rows at :func:`seeded_indices` (``rows`` itself when ``limit`` is None or not below its length):
    the one way a command trains or scores on a quick, repeatable share of a split."""
    if limit is None or limit >= len(rows):
        return rows
    return rows.subset(seeded_indices(len(rows), limit, seed))


@lru_cache(maxsize=2)
def _sentence_carve(texts: tuple, labels: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of SST-2's sentence-level validation (:mod:`otters.data.sentences`);
    cached because one run asks for both splits of the same file."""
    strata = np.frombuffer(labels, dtype=np.int64)
    sentences = full_sentences(list(texts))
    _, held = stratified_holdout(strata[sentences], SENTENCE_VALIDATION_FRACTION, SPLIT_SEED)
    validation = sentences[held]
    protected = OverlapIndex([texts[i] for i in validation])
    # rows of punctuation only ("(") are invisible to the overlap rule; they go when a sentence holds them
    joined = "\n".join(f" {' '.join(texts[i].split())} " for i in validation)
    held_rows = set(validation.tolist())
    train = [i for i in range(len(texts)) if i not in held_rows and not protected.overlaps(texts[i])
             and not (not normalise(texts[i]) and f" {' '.join(texts[i].split())} " in joined)]
    return np.asarray(train, dtype=np.int64), validation


def split_validation(examples: TextExamples) -> tuple[TextExamples, TextExamples]:
    """(train, validation) carved from a labelled GLUE train file; see the module docstring."""
    if examples.task.name == "sst2":
        labels = np.ascontiguousarray(_strata(examples), dtype=np.int64).tobytes()
        kept, held = _sentence_carve(tuple(examples.text_a), labels)
    else:
        kept, held = stratified_holdout(_strata(examples), VALIDATION_FRACTION, SPLIT_SEED)
    return examples.subset(kept, "train"), examples.subset(held, "validation")


def split_rt(corpus: TextExamples) -> dict[str, TextExamples]:
    """The fixed rt split: 80 % train, 10 % validation, 10 % test, stratified by label."""
    strata = _strata(corpus)
    rest, test = stratified_holdout(strata, RT_FRACTIONS[2], RT_SEED)
    share = RT_FRACTIONS[1] / (RT_FRACTIONS[0] + RT_FRACTIONS[1])
    train_pos, val_pos = stratified_holdout(strata[rest], share, RT_SEED + 1)
    return {
        "train": corpus.subset(rest[train_pos], "train"),
        "validation": corpus.subset(rest[val_pos], "validation"),
        "test": corpus.subset(test, "test"),
    }


def load_split(task: str | TaskSpec, split: str, data_dir: str | os.PathLike | None = None) -> TextExamples:
    """Rows of ``split`` (train, validation, dev or test) of ``task``; see the module docstring."""
    spec = get_task(task) if isinstance(task, str) else task
    if split not in SPLITS:
        raise OttersError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if spec.name == "rt":
        if split == "dev":
            raise OttersError("the rt task has no official dev set; its held-out split is --split test")
        return split_rt(read_rt_corpus())[split]
    if split in ("dev", "test"):
        return load_glue_file(spec, split, data_dir)
    train, validation = split_validation(load_glue_file(spec, "train", data_dir))
    return train if split == "train" else validation


def available_splits(task: str | TaskSpec, data_dir: str | os.PathLike | None = None) -> list[str]:
    """The splits of ``task`` whose files are present (rt: all three; GLUE: by the files in the folder)."""
    spec = get_task(task) if isinstance(task, str) else task
    if spec.name == "rt":
        return ["train", "validation", "test"]
    resolve_glue_dir(data_dir)
    found = []
    if glue_file(spec, "train", data_dir).is_file():
        found += ["train", "validation"]
    found += [s for s in ("dev", "test") if glue_file(spec, s, data_dir).is_file()]
    if not found:
        folder = Path(glue_file(spec, "train", data_dir)).parent
        raise OttersError(f"no {spec.name} files in {folder}; expected {', '.join(spec.files.values())}")
    return found


def data_info(task: str | TaskSpec, data_dir: str | os.PathLike | None = None) -> dict:
    """``{"task", "splits": {split: rows}, "labels": {split: {label: rows}}}`` for every present split."""
    spec = get_task(task) if isinstance(task, str) else task
    present = available_splits(spec, data_dir)
    loaded: dict[str, TextExamples] = {}
    if spec.name == "rt":
        loaded.update(split_rt(read_rt_corpus()))
    elif "train" in present:  # read train.tsv once for both of its splits
        loaded["train"], loaded["validation"] = split_validation(load_glue_file(spec, "train", data_dir))
    for split in present:
        if split not in loaded:
            loaded[split] = load_split(spec, split, data_dir)
    splits = {split: len(loaded[split]) for split in present}
    labels = {split: loaded[split].label_counts() for split in present}
    return {"task": spec.name, "splits": splits, "labels": labels}
