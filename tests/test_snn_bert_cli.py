"""``otters verify`` on whole BERT students: presets on real sentences, student checkpoints, errors."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.models import build_student, save_student
from snn_bert_helpers import calibrated, tiny_batch


def test_verify_preset_on_real_sentences_is_exact(capsys):
    code, out, _ = run_main(capsys, "verify", "--preset", "otters-4bitkv", "--geometry", "tiny", "--batch", "6",
                           "--json")
    data = json.loads(out)
    assert code == 0 and data["exact"] is True and data["max_level_diff"] == 0
    assert data["model"]["sentences"] == 6 and data["model"]["source"].startswith("rt validation")
    assert data["layers"][-1]["name"] == "logits" and data["simulator"] == "bert-event"
    code, out, _ = run_main(capsys, "verify", "--preset", "otters-1bitkv", "--geometry", "tiny", "--batch", "3",
                           "--simulator", "threshold")
    assert code == 0 and "exact" in out and "pooler:acc" in out


def test_verify_student_checkpoint_and_a_drawn_chip(capsys, tmp_path):
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = calibrated(build_student("sorbet", "tiny"), tiny_batch(1))
    path = save_student(model, tmp_path / "student")
    code, out, _ = run_main(capsys, "verify", str(path), "--batch", "4", "--json")
    assert code == 0 and json.loads(out)["model"]["kind"] == "checkpoint"
    code, out, _ = run_main(capsys, "verify", str(path), "--batch", "4", "--synapse-std", "0.3", "--json")
    data = json.loads(out)
    assert code == 1 and data["exact"] is False and data["nominal_device"] is False


@pytest.mark.parametrize("args, message", [
    (["verify", "--preset", "otters-1bitkv", "--geometry", "tiny", "--simulator", "tick"], "event or threshold"),
    (["verify", "--preset", "bert-fp", "--geometry", "tiny"], "no spiking equivalent"),
    (["verify", "--preset", "otters-1bitkv", "--geometry", "tiny", "--random-mlp"], "--random-mlp"),
    (["verify", "--preset", "otters-1bitkv", "--random-init", "--hf"], "not both"),
])
def test_bad_bert_verify_input_is_one_line(capsys, args, message):
    code, _, err = run_main(capsys, *args)
    assert code == 2 and err.startswith("otters: error:") and message in err and len(err.strip().splitlines()) == 1
