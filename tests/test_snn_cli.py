"""``otters verify``: JSON keys, exit codes, checkpoints, curves, one-line errors."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.device import StretchedExponential, save_curve
from otters.nn.qmlp import QuantMLPConfig, random_qmlp, save_qmlp


def test_random_mlp_json_has_the_contract_keys(capsys, tmp_path):
    curve = tmp_path / "curve.json"
    save_curve(StretchedExponential(I0=5.0, tau=0.3, beta=0.7, I_offset=-4.0), curve)
    for simulator in ("event", "tick"):
        code, out, _ = run_main(capsys, "verify", "--random-mlp", "--depth", "3", "--width", "24", "--bits", "3",
                               "--signed", "--residual", "--seed", "4", "--batch", "5", "--curve", str(curve),
                               "--simulator", simulator, "--json")
        data = json.loads(out)
        assert code == 0
        assert data["exact"] is True and data["max_level_diff"] == 0 and data["max_spikes_per_neuron"] == 1
        assert [layer["name"] for layer in data["layers"]] == ["input_quant", "layers.0", "layers.1", "layers.2"]
        assert all({"name", "max_diff", "spikes"} <= set(layer) for layer in data["layers"])
        assert data["simulator"] == simulator


def test_device_variation_makes_verify_exit_1(capsys):
    code, out, _ = run_main(capsys, "verify", "--random-mlp", "--width", "32", "--synapse-std", "0.3", "--json")
    data = json.loads(out)
    assert code == 1 and data["exact"] is False and data["first_inexact_layer"] == "layers.0"


def test_checkpoint_is_verified_and_table_printed(capsys, tmp_path):
    config = QuantMLPConfig(sizes=[10, 10, 4], act_bits=2, weight_bits=3, quantize_output=False)
    qnn = random_qmlp(config, torch.randn(8, 10), seed=1)
    path = save_qmlp(qnn, tmp_path / "mlp.safetensors")
    code, out, _ = run_main(capsys, "verify", str(path), "--batch", "7")
    assert code == 0
    assert "layers.1" in out and "potential" in out and "exact" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify"], "checkpoint file or --random-mlp"),
        (["verify", "--random-mlp", "--bits", "0"], "activation bits"),
        (["verify", "--random-mlp", "--simulator", "fast"], "--simulator"),
        (["verify", "/nonexistent/m.safetensors"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.startswith("otters: error:") and message in err and len(err.strip().splitlines()) == 1


def test_directory_without_a_student_is_refused(capsys, tmp_path):
    code, _, err = run_main(capsys, "verify", str(tmp_path))
    assert code == 2 and "not a student checkpoint" in err
