"""Validation carve and the rt split: partitions, sizes, stratification, determinism, the rt corpus."""

import bz2
import csv
import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.data.examples import score_bins
from otters.data.glue import load_glue_file
from otters.data.rt import read_rt_corpus, rt_corpus_path
from otters.data.splits import (
    RT_FRACTIONS,
    VALIDATION_FRACTION,
    data_info,
    load_split,
    split_rt,
    split_validation,
    stratified_holdout,
)


@settings(max_examples=40)
@given(st.lists(st.integers(0, 3), min_size=2, max_size=300), st.floats(0.05, 0.5), st.integers(0, 2**31 - 1))
def test_holdout_is_a_partition_of_the_right_size(strata, fraction, seed):
    strata = np.array(strata)
    kept, held = stratified_holdout(strata, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(len(strata)))
    assert len(held) == math.ceil(fraction * len(strata))
    again = stratified_holdout(strata, fraction, seed)
    assert np.array_equal(again[1], held)


def _assert_stratified(strata_all, strata_held, fraction, tolerance=1.0):
    """Each stratum's held-out count is within ``tolerance`` rows of its share (rounding)."""
    total, held = Counter(strata_all.tolist()), Counter(strata_held.tolist())
    for key, count in total.items():
        assert abs(held.get(key, 0) - fraction * count) <= tolerance + 1e-9, (key, held.get(key, 0), count)


def test_validation_carve_on_glue_files(glue_dir):
    for task in ("rte", "stsb"):  # SST-2 validates on held-out sentences: tests/test_data_sentences.py
        full = load_glue_file(task, "train", glue_dir)
        train, validation = split_validation(full)
        assert len(validation) == math.ceil(VALIDATION_FRACTION * len(full))
        assert train.split == "train" and validation.split == "validation"
        strata = score_bins(full.labels) if full.task.regression else full.labels
        strata_val = score_bins(validation.labels) if full.task.regression else validation.labels
        _assert_stratified(strata, strata_val, VALIDATION_FRACTION)
    # Fixed seed: loading again gives the same rows.
    first = load_split("rte", "validation", glue_dir)
    assert first.text_a == load_split("rte", "validation", glue_dir).text_a


def test_score_bins():
    assert score_bins(np.array([0.0, 0.99, 1.0, 4.6, 5.0])).tolist() == [0, 0, 1, 4, 5]


def test_rt_corpus_matches_the_raw_file():
    corpus = read_rt_corpus()
    with bz2.open(rt_corpus_path(), "rt", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] != "plot"]
    unique = {}
    for r in rows:
        unique.setdefault(r["text"].strip(), r["category"])
    assert len(corpus) == len(unique) < len(rows)  # duplicates removed
    assert len(set(corpus.text_a)) == len(corpus)
    for text, label in zip(corpus.text_a[::97], corpus.labels[::97]):
        assert label == (1 if unique[text] == "fresh" else 0)


def test_rt_split_sizes_stratified_disjoint():
    corpus = read_rt_corpus()
    parts = split_rt(corpus)
    sizes = {k: len(v) for k, v in parts.items()}
    assert sum(sizes.values()) == len(corpus)
    for name, fraction in zip(("train", "validation", "test"), RT_FRACTIONS):
        assert abs(sizes[name] - fraction * len(corpus)) <= 2
        _assert_stratified(corpus.labels, parts[name].labels, fraction, tolerance=2.0)  # two draws
    texts = [set(p.text_a) for p in parts.values()]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert load_split("rt", "test").text_a == parts["test"].text_a


def test_data_info_counts(glue_dir):
    info = data_info("mrpc", glue_dir)
    assert info["splits"]["train"] + info["splits"]["validation"] == 3668
    assert sum(info["labels"]["train"].values()) == info["splits"]["train"]
    rt = data_info("rt")
    assert set(rt["splits"]) == {"train", "validation", "test"}
    assert set(rt["labels"]["test"]) == {"rotten", "fresh"}
