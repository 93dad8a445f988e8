"""End-to-end distillation on a tiny teacher and a tiny task: stages, resume after a kill, CLI, robustness."""

import json

import numpy as np
import pytest
import torch

from otters.cli.app import main
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.io import load_tensors
from otters.models import load_student
from otters.train import loop
from tiny_task import make_tiny_task

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny word-level BERT teacher (random, 2 layers, hidden 16) and a 120-row SST-2 folder."""
    return make_tiny_task(tmp_path_factory.mktemp("tiny"))


def _run(tiny, out, **kw):
    args = dict(stages="bspn,kv1", epochs=1, max_steps=4, batch_size=16, eval_every=2, lr=1e-3,
                data_dir=tiny["glue"], progress=False, max_len=16, log=lambda m: None)
    args.update(kw)
    run = {k: args.pop(k) for k in ("data_dir", "progress", "log", "resume", "device", "threads") if k in args}
    return distill(DistillSettings("sst2", "otters-1bitkv", **args), tiny["teacher"], out_dir=out, **run)


def test_two_stage_run_and_kill_resume_equal_uninterrupted(tiny, tmp_path, monkeypatch):
    ref = _run(tiny, tmp_path / "ref")
    summary = json.loads((ref / "distill.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == ["bspn", "kv1"]
    assert all(s["steps"] == 4 and s["best"]["metric"] is not None for s in summary["stages"])
    student = load_student(ref)
    assert student.config.kv_bits == 1 and student.config.norm == "bspn" and student.config.softmax == "ptsoftmax"

    # kill in the middle of stage 2 (its 3rd step: after the step-2 checkpoint), then resume
    calls = {"n": 0}
    original = loop.Trainer._train_step

    def dying_step(self, wrapped, indices):
        calls["n"] += 1
        if calls["n"] == 4 + 3:
            raise KeyboardInterrupt
        return original(self, wrapped, indices)

    monkeypatch.setattr(loop.Trainer, "_train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny, tmp_path / "run")
    monkeypatch.setattr(loop.Trainer, "_train_step", original)
    with pytest.raises(Exception, match="--resume"):
        _run(tiny, tmp_path / "run")
    resumed = _run(tiny, tmp_path / "run", resume=True)
    stages = json.loads((resumed / "distill.json").read_text())["stages"]
    assert stages[1]["resumed_from"] == 2
    a, b = load_tensors(ref / "student.safetensors"), load_tensors(resumed / "student.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert [s["last_eval"] for s in stages] == [s["last_eval"] for s in summary["stages"]]


def test_cli_distill_then_robustness(tiny, tmp_path):
    out = tmp_path / "cli"
    argv = ["distill", "--task", "sst2", "--teacher", str(tiny["teacher"]), "--stages", "single", "--hat", "0.1",
            "--out", str(out), "--max-steps", "2", "--batch-size", "16", "--eval-every", "2", "--data-dir",
            str(tiny["glue"]), "--no-progress", "--max-len", "16", "--threads", "1"]
    main(argv)
    student = load_student(out / "student")
    assert student.config.hat_noise == 0.1
    with pytest.raises(SystemExit) as exc:
        main(argv)  # the folder already holds a run
    assert exc.value.code == 2

    json_path = tmp_path / "rob.json"
    main(["robustness", str(out), "--levels", "0,0.2", "--draws", "2", "--kinds", "synapse,output",
          "--data-dir", str(tiny["glue"]), "--split", "train", "--rows", "40", "--out", str(json_path),
          "--plot", str(tmp_path / "rob.png"), "--json", "--threads", "1"])
    result = json.loads(json_path.read_text())
    entry = result["checkpoints"]["cli"]
    assert result["task"] == "sst2" and entry["exact"] and entry["qnn"] == entry["nominal"]
    assert [r["level"] for r in entry["results"]["synapse"]] == [0.0, 0.2]
    assert len(entry["results"]["synapse"][1]["values"]) == 2
    assert (tmp_path / "rob.png").stat().st_size > 1000


def test_bad_hat_is_one_line_error(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["distill", "--task", "sst2", "--teacher", str(tiny["teacher"]), "--hat", "2", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("otters: error:") and "--hat" in err[0]


def test_device_variation_changes_the_snn_but_nominal_is_exact(tiny, tmp_path):
    from otters.data.splits import load_split
    from otters.data.tokenize import encode
    from otters.distill.checkpoint import load_student_checkpoint
    from otters.studies.robustness import on_device, variation_for
    from otters.train.predict import predict_logits

    path = _run(tiny, tmp_path / "r", stages="single", max_steps=2)
    student = load_student_checkpoint(path.parent)
    model, tokenizer, max_len = student.model, student.tokenizer, student.max_len
    enc = encode(tokenizer, load_split("sst2", "train", tiny["glue"]).subset(np.arange(24)), max_len)
    qnn = predict_logits(model, enc)
    with on_device(model):
        assert np.array_equal(predict_logits(model, enc), qnn)
    from otters.device import PAPER_CURVE

    drawn = {}
    for kind in ("synapse", "output", "tau"):
        for seed in (3, 4):
            with on_device(model, variation=variation_for(kind, 0.2, PAPER_CURVE, seed=seed)):
                drawn[kind, seed] = predict_logits(model, enc)
            assert not np.array_equal(drawn[kind, seed], qnn), kind
        assert not np.array_equal(drawn[kind, 3], drawn[kind, 4]), kind  # another chip, other readings
    assert np.array_equal(predict_logits(model, enc), qnn)  # hooks removed on exit
