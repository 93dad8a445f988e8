"""Shared by tests/test_pipeline_*.py and tests/test_report_*.py: one tiny end-to-end ``otters run``.

A 2-layer, hidden-16 word-level BERT as the teacher's base model and a 160-row SST-2 folder; the
profile is ``quick`` with every size cut down and one HAT2 student (as the full profile has), so the
whole pipeline runs in seconds. The run is made
once per pytest process (module-level cache) and shared read-only by the test modules.
"""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path

WORDS = "good bad great awful fine boring fun dull film movie plot actor scene story".split()

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
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    model = root / "base"
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(str(model))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=32)
        BertModel(cfg).save_pretrained(str(model), safe_serialization=True)
    rng = random.Random(0)
    lines = ["sentence\tlabel"]
    for _ in range(160):
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
        lines.append(f"{s}\t{int('good' in s or 'great' in s)}")
    (root / "glue" / "SST-2").mkdir(parents=True, exist_ok=True)
    (root / "glue" / "SST-2" / "train.tsv").write_text("\n".join(lines) + "\n")
    return {"model": model, "glue": root / "glue", "cache": root / "cache"}


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
    from otters.pipeline import open_run, run_pipeline
    from otters.pipeline import runner

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
