"""GLUE readers: official row counts, quote handling, header quirks, hand-made files, corrupt files."""

import numpy as np
import pytest

from otters.data.glue import load_glue_file, read_tsv
from otters.data.splits import available_splits, load_split
from otters.data.tasks import TASKS, get_task
from otters.errors import OttersError

OFFICIAL_TRAIN_ROWS = {"sst2": 67349, "cola": 8551, "mrpc": 3668, "rte": 2490, "stsb": 5749}


@pytest.mark.parametrize("task, rows", sorted(OFFICIAL_TRAIN_ROWS.items()))
def test_official_train_row_counts(glue_dir, task, rows):
    examples = load_glue_file(task, "train", glue_dir)
    assert len(examples) == rows
    assert examples.labels.shape == (rows,)
    assert (examples.text_b is not None) == get_task(task).is_pair
    carved = len(load_split(task, "train", glue_dir)) + len(load_split(task, "validation", glue_dir))
    if task == "sst2":  # its validation sentences' phrases leave training (tests/test_data_sentences.py)
        assert carved < rows
    else:  # the validation carve partitions train.tsv
        assert carved == rows


def test_unbalanced_quotes_stay_in_their_row(glue_dir):
    mrpc = load_glue_file("mrpc", "train", glue_dir)
    i = next(i for i, t in enumerate(mrpc.text_a) if t.startswith("Contrary to what PeopleSoft management"))
    assert mrpc.text_a[i].endswith('years to come . "')
    assert mrpc.text_b[i].startswith("Ellison said that contrary")
    assert mrpc.labels[i] == 1
    stsb = load_glue_file("stsb", "train", glue_dir)
    j = stsb.text_a.index('"Then the captain was gone.')
    assert stsb.text_b[j] == "Then the captain came back."
    assert stsb.labels[j] == pytest.approx(0.8)
    rte = load_glue_file("rte", "train", glue_dir)
    k = next(k for k, t in enumerate(rte.text_a) if "Arki is a guy who can take care of her" in t)
    assert rte.text_b[k] == "Uma Thurman is engaged to Arpad Busson."
    assert rte.labels[k] == get_task("rte").label_names.index("not_entailment")


def test_first_rows_and_labels(glue_dir):
    cola = load_glue_file("cola", "train", glue_dir)  # no header: the first line is data
    assert cola.text_a[0] == "Our friends won't buy this analysis, let alone the next one we propose."
    assert cola.labels[0] == 1
    mrpc = load_glue_file("mrpc", "train", glue_dir)  # BOM before "Quality"
    assert mrpc.text_a[0].startswith("Amrozi accused his brother")
    sst2 = load_glue_file("sst2", "train", glue_dir)
    assert sst2.text_a[0] == "hide new secretions from the parental units"
    assert set(np.unique(sst2.labels)) == {0, 1}
    stsb = load_glue_file("stsb", "train", glue_dir)
    assert stsb.labels.dtype == np.float32 and stsb.labels.min() >= 0 and stsb.labels.max() <= 5


def _write(path, lines, bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")


def test_handmade_qqp_qnli_wnli(tmp_path):
    _write(tmp_path / "QQP" / "train.tsv", [
        "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
        '1\t2\t3\tWhat is "love?\tWhat is love?\t1',
        "4\t5\t6\tHow old are you?\tWhere are you?\t0",
    ])
    qqp = load_glue_file("qqp", "train", tmp_path)
    assert qqp.text_a == ['What is "love?', "How old are you?"]
    assert qqp.labels.tolist() == [1, 0]
    _write(tmp_path / "QNLI" / "dev.tsv", [
        "index\tquestion\tsentence\tlabel", "0\tWho?\tHe did.\tentailment", "1\tWhen?\tNo.\tnot_entailment",
    ])
    assert load_glue_file("qnli", "dev", tmp_path).labels.tolist() == [0, 1]
    _write(tmp_path / "WNLI" / "train.tsv", ["index\tsentence1\tsentence2\tlabel", "0\tA b.\tC d.\t1"])
    assert load_glue_file("wnli", "train", tmp_path).text_b == ["C d."]


def test_handmade_mnli_matched_and_mismatched(tmp_path):
    header = ("index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3"
              "\tlabel4\tlabel5\tgold_label")
    row = "0\t1\t2\tfiction\t(\t(\t(\t(\tA man sleeps.\tA man is awake.\tcontradiction" + "\tneutral" * 4
    _write(tmp_path / "MNLI" / "dev_matched.tsv", [header, row + "\tcontradiction"])
    _write(tmp_path / "MNLI" / "dev_mismatched.tsv", [header, row + "\tneutral", row + "\tentailment"])
    matched = load_split("mnli", "dev", tmp_path)
    mismatched = load_split("mnli-mm", "dev", tmp_path)
    names = get_task("mnli").label_names
    assert [names[i] for i in matched.labels] == ["contradiction"]
    assert [names[i] for i in mismatched.labels] == ["neutral", "entailment"]
    assert available_splits("mnli", tmp_path) == ["dev"]


def test_only_dev_file_present_and_test_files_unlabelled(tmp_path):
    _write(tmp_path / "SST-2" / "dev.tsv", ["sentence\tlabel", "good film\t1", 'a " bad film\t0'])
    _write(tmp_path / "SST-2" / "test.tsv", ["index\tsentence", "0\tfine"])
    _write(tmp_path / "CoLA" / "test.tsv", ["index\tsentence", "0\tThe cat sat.", "1\tCat the sat."])
    _write(tmp_path / "MRPC" / "dev.tsv", ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "1\t1\t2\ta\tb"], bom=True)
    assert available_splits("sst2", tmp_path) == ["dev", "test"]
    assert load_split("sst2", "dev", tmp_path).text_a == ["good film", 'a " bad film']
    assert load_split("sst2", "test", tmp_path).labels is None
    cola_test = load_split("cola", "test", tmp_path)
    assert cola_test.text_a == ["The cat sat.", "Cat the sat."] and cola_test.labels is None
    assert load_split("mrpc", "dev", tmp_path).labels.tolist() == [1]
    with pytest.raises(OttersError, match="train file not found"):
        load_split("sst2", "validation", tmp_path)


@pytest.mark.parametrize("lines, message", [
    (["sentence\tlabel", "good\t1", "no label here"], "line 3: expected 2 tab-separated fields, found 1"),
    (["sentence\tlabel", "good\t7"], "line 2: label '7' is not one of 0, 1"),
    (["sentence\tlabel", "good\t1\textra"], "line 2: expected 2"),
    (["text\tlabel", "good\t1"], "header has no column 'sentence'"),
    (["sentence\tlabel"], "no data rows"),
])
def test_corrupt_files_name_the_problem(tmp_path, lines, message):
    _write(tmp_path / "SST-2" / "train.tsv", lines)
    with pytest.raises(OttersError, match=message):
        load_glue_file("sst2", "train", tmp_path)


def test_corrupt_scores_and_encoding(tmp_path):
    _write(tmp_path / "STS-B" / "train.tsv", ["index\tsentence1\tsentence2\tscore", "0\ta\tb\tnan"])
    with pytest.raises(OttersError, match="not a finite number"):
        load_glue_file("stsb", "train", tmp_path)
    bad = tmp_path / "RTE" / "train.tsv"
    bad.parent.mkdir()
    bad.write_bytes(b"index\tsentence1\tsentence2\tlabel\n0\t\xff\xfe\tx\tentailment\n")
    with pytest.raises(OttersError, match="not UTF-8"):
        read_tsv(bad)


def test_missing_directory_and_task(tmp_path):
    with pytest.raises(OttersError, match="GLUE data directory not found"):
        load_split("rte", "train", tmp_path / "absent")
    with pytest.raises(OttersError, match="unknown task"):
        get_task("imdb")
    with pytest.raises(OttersError, match="unknown split"):
        load_split("rte", "holdout", tmp_path)
    assert set(TASKS) == {"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli", "rt"}
    assert get_task("SST-2").name == "sst2" and get_task("STS-B").name == "stsb"
