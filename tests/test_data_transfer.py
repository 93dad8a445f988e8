"""Transfer text for distillation (otters.data.transfer): sources, decontamination, refusals, and a run
that trains on the labelled rows plus the transfer rows."""

import json

import pytest
import torch

from otters.cli.app import main
from otters.data.overlap import OverlapIndex, evaluation_texts
from otters.data.splits import load_split
from otters.data.transfer import MIN_WORDS, plot_sentences, transfer_texts
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.errors import OttersError
from tiny_task import make_tiny_task

torch.set_num_threads(1)


def test_plot_sentences_split_after_sentence_ends_and_drop_fragments():
    synopses = ["A banker loses his job. He plans a heist! Will the heist work? Yes.", "Two friends meet again...\n\nThey fight."]
    assert plot_sentences(synopses) == ["A banker loses his job.", "He plans a heist!", "Will the heist work?",
                                        "Two friends meet again..."]
    assert all(len(s.split()) >= MIN_WORDS for s in plot_sentences(synopses))


def test_rt_plot_text_is_unlabelled_and_shares_nothing_with_rts_evaluation_sentences():
    extra = transfer_texts("rt", "rt-plot")
    assert extra.labels is None and extra.text_b is None and len(extra) > 5000
    index = OverlapIndex(evaluation_texts("rt"))
    assert not any(index.overlaps(t) for t in extra.text_a)
    reviews = set(load_split("rt", "train").text_a)
    assert not reviews & set(extra.text_a)  # synopses, not the labelled reviews again
    subset = transfer_texts("rt", "rt-plot", rows=100, seed=3)
    assert len(subset) == 100 and subset.text_a == transfer_texts("rt", "rt-plot", rows=100, seed=3).text_a


def test_sst2_phrases_for_rt_drop_every_row_that_overlaps_rt_test(tmp_path):
    tiny = make_tiny_task(tmp_path)
    leaked = load_split("rt", "test").text_a[0]
    train = tiny["glue"] / "SST-2" / "train.tsv"
    train.write_text(train.read_text() + f"{leaked}\t1\n{leaked[:60]} and more\t0\n")
    extra = transfer_texts("rt", "sst2-phrases", data_dir=tiny["glue"])
    assert extra.labels is None and len(extra) > 0
    assert not any(leaked[:30] in t for t in extra.text_a)


@pytest.mark.parametrize("task,source,message", [
    ("sst2", "rt-plot", "leak the evaluation data"),
    ("rt", "wikipedia", "offered: rt-plot, sst2-phrases"),
    ("cola", "rt-plot", "offered: none"),
])
def test_a_source_not_offered_is_refused(task, source, message):
    with pytest.raises(OttersError, match=message):
        transfer_texts(task, source)


def test_cli_refuses_transfer_for_sst2_before_writing(tmp_path, capsys):
    tiny = make_tiny_task(tmp_path)
    out = tmp_path / "run"
    capsys.readouterr()  # drop what building the tiny teacher printed
    with pytest.raises(SystemExit) as exc:
        main(["distill", "--task", "sst2", "--teacher", str(tiny["teacher"]), "--transfer", "rt-plot",
              "--data-dir", str(tiny["glue"]), "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "leak" in err[0]
    assert not out.exists()


def test_distillation_trains_on_the_labelled_rows_plus_the_transfer_rows(tmp_path):
    tiny = make_tiny_task(tmp_path)
    messages = []
    settings = DistillSettings("rt", "otters-1bitkv", stages="kv1", epochs=1, max_steps=2, batch_size=16,
                               eval_every=2, lr=1e-3, max_len=16, train_rows=32, eval_rows=16,
                               transfer="rt-plot", transfer_rows=16)
    student = distill(settings, tiny["teacher"], out_dir=tmp_path / "run", progress=False, log=messages.append)
    recorded = json.loads((student / "distill.json").read_text())["settings"]
    assert recorded["transfer"] == "rt-plot" and recorded["transfer_rows"] == 16
    assert any("(0 of 48 rows stored)" in m for m in messages)  # 32 labelled + 16 transfer rows
