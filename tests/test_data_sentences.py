"""SST-2's sentence-level validation: full sentences found, held out, and none of their phrases trained on."""

import math

import numpy as np

from otters.data.examples import TextExamples
from otters.data.glue import load_glue_file
from otters.data.sentences import SENTENCE_VALIDATION_FRACTION, full_sentences
from otters.data.splits import load_split, split_validation
from otters.data.tasks import get_task


def _contained(phrase: str, sentences: str) -> bool:
    return f" {' '.join(phrase.split())} " in sentences


def test_full_sentences_are_the_rows_no_longer_row_contains():
    texts = ["a fine film", "fine", "a fine film , really", "film ,", "fin", "really bad", "really  bad", "bad",
             "the plot"]
    found = full_sentences(texts).tolist()
    # "fin" is inside "fine" but not at a word boundary; "really  bad" repeats "really bad" (kept once)
    assert found == [2, 4, 5, 8]
    brute = [i for i, t in enumerate(texts)
             if not any(len(" ".join(o.split())) > len(" ".join(t.split())) and _contained(t, f" {' '.join(o.split())} ")
                        for o in texts)]
    assert [texts[i] for i in found] == list(dict.fromkeys(" ".join(texts[i].split()) for i in brute))


def _treebank_like(n_sentences: int) -> TextExamples:
    """Sentences over distinct words plus every contiguous phrase of each (a parse tree's spans, roughly)."""
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for s in range(n_sentences):
        words = [f"w{s}x{k}" for k in range(int(rng.integers(3, 6)))]
        label = int(rng.integers(0, 2))
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                texts.append(" ".join(words[start:start + size]))
                labels.append(label)
    return TextExamples(get_task("sst2"), "train", texts, None, np.asarray(labels, dtype=np.int64))


def test_sst2_validation_holds_sentences_whose_phrases_leave_training():
    rows = _treebank_like(48)
    train, validation = split_validation(rows)
    assert len(validation) == math.ceil(SENTENCE_VALIDATION_FRACTION * 48)
    assert set(validation.text_a) <= {rows.text_a[i] for i in full_sentences(rows.text_a)}
    joined = "\n".join(f" {t} " for t in validation.text_a)
    assert not any(_contained(t, joined) for t in train.text_a)
    # every phrase of every other sentence stays: nothing else was dropped
    assert len(train) + sum(len(t.split()) * (len(t.split()) + 1) // 2 for t in validation.text_a) == len(rows)
    again_train, again_validation = split_validation(rows)
    assert again_validation.text_a == validation.text_a and again_train.text_a == train.text_a


def test_sst2_sentence_validation_on_the_shared_file(glue_dir):
    full = load_glue_file("sst2", "train", glue_dir)
    train, validation = load_split("sst2", "train", glue_dir), load_split("sst2", "validation", glue_dir)
    assert len(validation) >= 800 and len(set(validation.text_a)) == len(validation)
    sentence_labels = full.labels[full_sentences(full.text_a)]
    assert abs(float(np.mean(validation.labels)) - float(np.mean(sentence_labels))) < 0.002  # stratified by label
    joined = "\n".join(f" {' '.join(t.split())} " for t in validation.text_a)
    assert not any(_contained(t, joined) for t in train.text_a)
    assert len(train) + len(validation) < len(full)
