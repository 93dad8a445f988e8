"""The trained students the results page quotes (``checkpoints/*``): packed, and exact after conversion.

Each committed student is loaded from its safetensors + JSON, converted to the spiking BERT, and run
beside its QNN on 48 real sentences of the split docs/results.md scores it on; Proposition 1 requires the
logits to be bit-for-bit equal. The packed file must hold every binarised weight as bits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "otters.json").is_file())
SPLIT = {"rt": "test"}  # as in the tables of docs/results.md; every GLUE task: its validation split


def test_every_committed_student_is_quoted_in_the_results():
    names = {p.name for p in STUDENTS}
    results = (ROOT / "docs" / "results.md").read_text()
    quoted = {name for name in names if f"checkpoints/{name} " in results or f"checkpoints/{name}`" in results}
    assert names == quoted and {"rt-otters-1bitkv-t84", "rt-otters-1bitkv-t84-hat2"} <= names


@pytest.mark.parametrize("folder", STUDENTS, ids=[p.name for p in STUDENTS])
def test_committed_student_is_packed_and_its_snn_is_bit_exact(folder):
    import torch

    from otters.studies.evaluation import score_qnn_and_snn

    info = json.loads((folder / "otters.json").read_text())
    assert info["format"] == "otters-student" and info["binary_weights"]
    bits = sum(int(np.prod(shape)) for shape in info["binary_weights"].values())
    parts = info["storage"]["parts"]
    stored = parts["encoder_binary_weights"]["bytes"] + parts["embeddings"]["bytes"]
    assert stored < bits / 8 * 1.1  # one bit per binary weight, not a float
    assert (folder / "student.safetensors").stat().st_size < 10 * 2**20

    task = json.loads((folder / "distill.json").read_text())["settings"]["task"]
    torch.set_num_threads(min(2, torch.get_num_threads()))
    result = score_qnn_and_snn(folder, task, SPLIT.get(task, "validation"), rows=48, seed=1)
    assert result["n"] == 48 and result["logits_equal"] and result["mismatched_rows"] == 0
    # a trained classifier predicts both classes (not a collapsed one); None: a regression head (STS-B)
    assert result["predicted_classes"] in (None, 2)
