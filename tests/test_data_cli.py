"""`otters data info`, `otters eval`, `otters teacher` as a user runs them (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest


def run_cli(*args, env=None):
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "otters.cli.app", *args], capture_output=True, text=True,
                          env=full_env)


def assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("otters: error:") and fragment in proc.stderr, proc.stderr


def test_data_info_json(glue_dir):
    proc = run_cli("data", "info", "--task", "cola", "--data-dir", str(glue_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["task"] == "cola"
    assert info["splits"]["train"] + info["splits"]["validation"] == 8551
    assert sum(info["labels"]["validation"].values()) == info["splits"]["validation"]


def test_data_info_default_dir_comes_from_the_environment(glue_dir):
    proc = run_cli("data", "info", "--task", "rte", "--json", env={"OTTERS_GLUE_DIR": str(glue_dir)})
    assert proc.returncode == 0, proc.stderr
    assert sum(json.loads(proc.stdout)["splits"].values()) == 2490


def test_unknown_task_missing_dir_corrupt_file(tmp_path):
    assert_one_line_error(run_cli("data", "info", "--task", "imdb"), "unknown task 'imdb'")
    assert_one_line_error(run_cli("data", "info", "--task", "sst2", "--data-dir", str(tmp_path / "none")),
                          "GLUE data directory not found")
    (tmp_path / "RTE").mkdir()
    (tmp_path / "RTE" / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tmaybe\n")
    assert_one_line_error(run_cli("data", "info", "--task", "rte", "--data-dir", str(tmp_path)),
                          "label 'maybe' is not one of entailment, not_entailment")
    (tmp_path / "RTE" / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\n")
    assert_one_line_error(run_cli("data", "info", "--task", "rte", "--data-dir", str(tmp_path)),
                          "line 2: expected 4 tab-separated fields, found 3")


def test_eval_errors(tmp_path):
    assert_one_line_error(run_cli("eval", str(tmp_path / "absent"), "--task", "rt"), "checkpoint not found")
    student = tmp_path / "student"
    student.mkdir()
    (student / "otters.json").write_text('{"task": "rt"}')
    assert_one_line_error(run_cli("eval", str(student), "--mode", "snn"), "holds no tokenizer")


@pytest.mark.slow
def test_teacher_then_eval_then_cache(tmp_path):
    """Train a tiny teacher through the CLI and score it (cache reuse: test_teacher_finetune)."""
    import torch
    from transformers import BertConfig, BertModel

    from otters.data.tokenize import load_tokenizer

    model = tmp_path / "tiny"
    tokenizer = load_tokenizer()
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=32)).save_pretrained(str(model))
    tokenizer.save_pretrained(str(model))
    glue = tmp_path / "glue"
    (glue / "SST-2").mkdir(parents=True)
    nouns = ("film", "plot", "cast")
    rows = ["sentence\tlabel"] + [f"{'good' if i % 2 else 'bad'} {nouns[i % 3]}\t{i % 2}" for i in range(40)]
    (glue / "SST-2" / "train.tsv").write_text("\n".join(rows) + "\n")
    args = ["teacher", "--task", "sst2", "--model", str(model), "--data-dir", str(glue), "--out", str(tmp_path / "t"),
            "--epochs", "1", "--batch-size", "8", "--max-len", "8", "--threads", "1"]
    first = run_cli(*args, "--report", str(tmp_path / "report.json"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(tmp_path / "t")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["task"] == "sst2" and report["command"].startswith("otters teacher --task sst2")
    scored = run_cli("eval", str(tmp_path / "t"), "--split", "validation", "--data-dir", str(glue), "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert set(result) == {"task", "split", "mode", "n", "metrics"}
    # the 40 rows hold 6 distinct sentences; SST-2 validates on 12.5 % of its full sentences: 1
    assert result["n"] == 1 and result["metrics"]["accuracy"] == report["metrics"]["validation"]["accuracy"]


def test_teacher_intermediate_errors(tmp_path):
    assert_one_line_error(run_cli("teacher", "--task", "rt", "--intermediate", "rt"), "must differ")
    assert_one_line_error(run_cli("teacher", "--task", "rt", "--intermediate", "imdb"), "unknown task 'imdb'")
    assert_one_line_error(run_cli("teacher", "--task", "rt", "--intermediate", "sst2", "--data-dir",
                                  str(tmp_path / "none"), env={"OTTERS_CACHE": str(tmp_path / "cache")}),
                          "GLUE data directory not found")


def test_teacher_on_a_missing_gpu_is_one_line_and_writes_nothing(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "t"
    assert_one_line_error(run_cli("teacher", "--task", "rte", "--device", "cuda", "--out", str(out)),
                          "CUDA is not available")
    assert list(tmp_path.iterdir()) == []
