"""Shared by tests/test_pipeline_*.py and tests/test_report_*.py: one tiny end-to-end ``otters run``.

A 2-layer, hidden-16 word-level BERT as the teacher's base model and a 160-row SST-2 folder; the
profile is ``quick`` with every size cut down and one HAT2 student (as the full profile has), so the
whole pipeline runs in seconds. The run is made
once per pytest process (module-level cache) and shared read-only by the test modules.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tiny_task import write_tiny_bert, write_tiny_sst2

TINY = dict(
    device_demo="quick", reuse_cached_teacher=False,
    teacher={"epochs": 1, "max_len": 16, "batch_size": 16, "max_train_rows": 64, "eval_every": 0, "lr": 1e-3},
    distill={"stages": "single", "max_steps": 2, "batch_size": 16, "eval_every": 2, "max_len": 16, "eval_rows": 32,
             "lr": 1e-3},
    hat=(0.2,), verify_sentences=4, energy_sentences=4, raster_neurons=8,
    robustness={"levels": (0.0, 0.1), "kinds": ("output",), "draws": 1, "rows": 16},
)

_CACHE: dict = {}


def make_tiny_inputs(root: Path) -> dict:
    """{"model": base BERT folder, "glue": GLUE folder with SST-2/train.tsv, "cache": teacher cache}."""
    root.mkdir(parents=True, exist_ok=True)
    return {"model": write_tiny_bert(root, root / "base", num_labels=None), "glue": write_tiny_sst2(root / "glue", 160),
            "cache": root / "cache"}


@contextlib.contextmanager
def private_cache(path: Path):
    """Teachers go to ``path`` (OTTERS_CACHE) inside the block, never into the user's cache."""
    before = os.environ.get("OTTERS_CACHE")
    os.environ["OTTERS_CACHE"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OTTERS_CACHE", None)
        else:
            os.environ["OTTERS_CACHE"] = before


def run_tiny(inputs: dict, out: Path, steps=None, **overrides):
    """Run the tiny pipeline into ``out`` (``steps``: replacement STEPS tuple); returns (ctx, state, result)."""
    from otters.pipeline import open_run, run_pipeline, runner

    settings = {**TINY, **overrides}
    with private_cache(inputs["cache"]):
        ctx, state = open_run(out, None, "sst2", "quick", 0, inputs["glue"], inputs["model"], None, settings)
        original = runner.STEPS
        if steps is not None:
            runner.STEPS = steps
        try:
            result = run_pipeline(ctx, state)
        finally:
            runner.STEPS = original
    return ctx, state, result


def tiny_run(tmp_path_factory) -> dict:
    """The shared finished tiny run: {"inputs", "dir", "result"} (made on first use)."""
    if "run" not in _CACHE:
        root = tmp_path_factory.mktemp("tiny_pipeline")
        inputs = make_tiny_inputs(root)
        ctx, state, result = run_tiny(inputs, root / "run")
        _CACHE["run"] = {"inputs": inputs, "dir": ctx.run_dir, "result": result}
    return _CACHE["run"]
