"""--tensorboard of otters teacher / distill / run: the Trainer's metrics sink, the event file read back,
bit-identical training with and without it, and a one-line error when the package is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from cli_helpers import run_main
from otters.io import load_tensors, read_json
from otters.train.checkpoint import read_jsonl
from otters.train.metrics import MetricsSink, Prefixed, numeric, prefixed
from otters.train.tensorboard import TensorBoardSink
from pipeline_helpers import TINY, private_cache
from tiny_task import make_tiny_task, write_tiny_bert

torch.set_num_threads(1)

TIMING = ("samples_per_s", "wall_s_this_process", "mean_samples_per_s", "wall_s")


class Recorder:
    """A metrics sink that keeps what it is given."""

    def __init__(self):
        self.calls: list[tuple[int, dict]] = []

    def scalars(self, step, values):
        self.calls.append((step, dict(values)))

    def tags(self) -> set[str]:
        return {tag for _, values in self.calls for tag in values}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny word-level teacher, a base BERT for teacher fine-tuning, a 120-row SST-2 folder."""
    root = tmp_path_factory.mktemp("tiny_tb")
    task = make_tiny_task(root)
    task["base"] = write_tiny_bert(root, root / "base", num_labels=None)
    return task


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the event files in ``log_dir``: tag -> [(step, value)]."""
    accumulator_module = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = accumulator_module.EventAccumulator(str(log_dir), size_guidance={accumulator_module.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _same_tensors(a: Path, b: Path) -> bool:
    x, y = load_tensors(a), load_tensors(b)
    return set(x) == set(y) and all(torch.equal(x[k], y[k]) for k in x)


def test_sink_helpers():
    rec = Recorder()
    assert isinstance(rec, MetricsSink) and prefixed(None, "stage") is None
    sink = prefixed(prefixed(rec, "distill"), "1-single")  # a command's sink, then a stage of it
    assert isinstance(sink, Prefixed)
    sink.scalars(3, {"train/loss": 0.5})
    assert rec.calls == [(3, {"distill/1-single/train/loss": 0.5})]
    assert numeric({"a": 1, "b": 0.5, "c": True, "d": "x", "e": None}) == {"a": 1.0, "b": 0.5}


def _distill_argv(tiny, out: Path, *extra: str) -> list[str]:
    return ["distill", "--task", "sst2", "--teacher", str(tiny["teacher"]), "--stages", "bspn,kv1", "--out", str(out),
            "--max-steps", "4", "--batch-size", "16", "--eval-every", "2", "--lr", "1e-3", "--data-dir",
            str(tiny["glue"]), "--no-progress", "--max-len", "16", "--threads", "1", *extra]


def test_distill_curves_per_stage_and_the_same_student(tiny, tmp_path, capsys):
    code, _, err = run_main(capsys, *_distill_argv(tiny, tmp_path / "plain"))
    assert code == 0, err
    code, _, err = run_main(capsys, *_distill_argv(tiny, tmp_path / "tb", "--tensorboard", str(tmp_path / "curves")))
    assert code == 0, err
    plain, logged = tmp_path / "plain", tmp_path / "tb"
    # logging changes nothing: the same student, bit for bit, and the same per-step records
    assert _same_tensors(plain / "student" / "student.safetensors", logged / "student" / "student.safetensors")
    for stage in ("1-bspn", "2-kv1"):
        assert _same_tensors(plain / stage / "best" / "student.safetensors", logged / stage / "best" / "student.safetensors")
        a, b = read_jsonl(plain / stage / "metrics.jsonl"), read_jsonl(logged / stage / "metrics.jsonl")
        assert _without_timing(a) == _without_timing(b)
    assert _without_timing(read_json(plain / "distill.json")["stages"]) == \
        _without_timing(read_json(logged / "distill.json")["stages"])

    scalars = _scalars(tmp_path / "curves")
    for stage in ("1-bspn", "2-kv1"):
        records = read_jsonl(logged / stage / "metrics.jsonl")
        train = [r for r in records if "loss" in r]
        evals = [r for r in records if "eval" in r]
        assert train and evals
        assert [s for s, _ in scalars[f"{stage}/train/loss"]] == [r["step"] for r in train]
        assert [v for _, v in scalars[f"{stage}/train/loss"]] == pytest.approx([r["loss"] for r in train], rel=1e-6)
        assert [v for _, v in scalars[f"{stage}/train/lr"]] == pytest.approx([r["lr"] for r in train], rel=1e-6)
        assert f"{stage}/train/samples_per_s" in scalars
        for metric in evals[0]["eval"]:
            got = scalars[f"{stage}/eval/{metric}"]
            assert [s for s, _ in got] == [r["step"] for r in evals]
            assert [v for _, v in got] == pytest.approx([r["eval"][metric] for r in evals], rel=1e-6)


def _teacher_argv(tiny, out: Path, *extra: str) -> list[str]:
    return ["teacher", "--task", "sst2", "--model", str(tiny["base"]), "--data-dir", str(tiny["glue"]), "--out", str(out),
            "--epochs", "1", "--max-len", "16", "--batch-size", "16", "--lr", "1e-3", "--eval-every", "4",
            "--train-rows", "64", "--threads", "1", *extra]


def test_teacher_curves_and_the_same_teacher(tiny, tmp_path, capsys):
    code, _, err = run_main(capsys, *_teacher_argv(tiny, tmp_path / "plain"))
    assert code == 0, err
    code, _, err = run_main(capsys, *_teacher_argv(tiny, tmp_path / "tb", "--tensorboard", str(tmp_path / "curves")))
    assert code == 0, err
    assert _same_tensors(tmp_path / "plain" / "model.safetensors", tmp_path / "tb" / "model.safetensors")
    a, b = read_json(tmp_path / "plain" / "teacher.json"), read_json(tmp_path / "tb" / "teacher.json")
    assert a["history"] == b["history"] and a["best"] == b["best"]

    scalars = _scalars(tmp_path / "curves")
    assert {"sst2/train/loss", "sst2/train/lr", "sst2/eval/accuracy"} <= set(scalars)
    assert [(s, pytest.approx(v, rel=1e-6)) for s, v in scalars["sst2/eval/accuracy"]] == \
        [(r["step"], r["validation"]["accuracy"]) for r in b["history"]]
    assert scalars["sst2/train/loss"][-1][0] == b["history"][-1]["step"]

    # a cached teacher trains nothing: no curves, no folder
    code, _, err = run_main(capsys, *_teacher_argv(tiny, tmp_path / "tb", "--tensorboard", str(tmp_path / "again")))
    assert code == 0 and "using cached" in err and not (tmp_path / "again").exists()


def test_pipeline_passes_the_sink_to_teacher_and_students(tiny, tmp_path):
    from otters.pipeline import open_run, run_pipeline

    rec = Recorder()
    settings = {**TINY, "hat": (0.2,)}
    with private_cache(tmp_path / "cache"):
        ctx, state = open_run(tmp_path / "run", None, "sst2", "quick", 0, tiny["glue"], tiny["base"], None, settings,
                              metrics=rec)
        run_pipeline(ctx, state, stop_after="distill")
    tags = rec.tags()
    stages = [f"{run}/{stage.name}" for run in ("distill", "distill-hat0.2")
              for stage in sorted((ctx.run_dir / run).iterdir()) if (stage / "done.json").is_file()]
    assert len(stages) == 2
    for prefix in ("teacher/sst2", *stages):
        assert {f"{prefix}/train/loss", f"{prefix}/train/lr", f"{prefix}/eval/accuracy"} <= tags, sorted(tags)
    assert "metrics" not in json.dumps(ctx.settings())  # not a setting of the run: not recorded, not compared


@pytest.mark.parametrize("command", ["distill", "teacher", "run"])
def test_missing_tensorboard_is_one_line_error_and_nothing_written(tiny, tmp_path, capsys, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were not installed
    curves, out = tmp_path / "curves", tmp_path / "out"
    argv = {"distill": _distill_argv(tiny, out), "teacher": _teacher_argv(tiny, out),
            "run": ["run", "--task", "sst2", "--out", str(out), "--data-dir", str(tiny["glue"])]}[command]
    code, stdout, err = run_main(capsys, *argv, "--tensorboard", str(curves))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("otters: error:"), err
    assert "otters[tensorboard]" in lines[0]
    assert not curves.exists() and not out.exists() and not stdout


def test_tensorboard_dir_that_is_a_file_is_refused(tiny, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run_main(capsys, *_distill_argv(tiny, tmp_path / "out"), "--tensorboard", str(tmp_path / "file"))
    assert code == 2 and err.strip().startswith("otters: error:") and "is a file" in err
    assert not (tmp_path / "out").exists()


def test_sink_makes_its_folder_only_at_the_first_scalar(tmp_path):
    pytest.importorskip("tensorboard")
    sink = TensorBoardSink(tmp_path / "tb")
    assert not (tmp_path / "tb").exists()
    sink.scalars(1, {"a/b": 0.25})
    sink.close()
    assert _scalars(tmp_path / "tb") == {"a/b": [(1, 0.25)]}
