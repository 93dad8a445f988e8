"""The hardware-level simulation of a spiking BERT: exact with the default clock and ADC, and
`otters tolerance`'s envelope confirmed on the whole network just inside and just outside each bound."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.coding.chip_read import ChipRead
from otters.coding.tolerance import tolerance
from otters.device import PAPER_CURVE
from otters.errors import OttersError
from otters.models import build_student
from otters.quant import LSQQuantizer
from otters.snn.convert import convert
from otters.snn.hardware_verify import chip_read, verify_hardware
from snn_bert_helpers import calibrated, tiny_batch


@pytest.fixture(scope="module")
def saturating():
    """A tiny otters-1bitkv student whose steps were shrunk so that activations often saturate: every
    step of every window, the first two included, carries spikes (the envelope's binding steps)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = calibrated(build_student("otters-1bitkv", "tiny"), tiny_batch(0))
    for module in model.modules():
        if isinstance(module, LSQQuantizer) and module.bits > 1:
            module.alpha.data *= 0.3
    return convert(model), tiny_batch(1)


ENV = tolerance(PAPER_CURVE, 15)


def run(saturating, **read):
    snn, batch = saturating
    return verify_hardware(snn, chip_read(snn, **read), **batch)


def test_default_clock_and_adc_are_exact(saturating):
    snn, _batch = saturating
    result = run(saturating)
    assert result.exact and result.max_level_diff == 0 and result.first_inexact_layer is None
    assert result.max_spikes_per_neuron == 1  # measured: threshold crossings per neuron
    assert set(result.layers) == {"layers.0", "layers.1", "pooler"} and all(result.layers.values())
    assert result.settings["dt"] < ENV.max_clock_period.value
    assert all(p.neurons > 0 for p in result.populations) and all(s.outputs > 0 for s in result.stages)


@pytest.mark.parametrize("inside, outside", [
    ({"dt": ENV.max_clock_period.value * (1 - 1e-5)}, {"dt": ENV.max_clock_period.value * (1 + 1e-5)}),
    ({"adc_bits": ENV.min_adc_bits.value}, {"adc_bits": ENV.min_adc_bits.value - 1}),
    ({"drift": ENV.max_output_drift.value * 0.99}, {"drift": ENV.max_output_drift.value * 1.01}),
    ({"drift": -ENV.max_output_drift.value * 0.99}, {"drift": -ENV.max_output_drift.value * 1.01}),
    ({"jitter": ENV.max_jitter.value * 0.99}, {"jitter": ENV.max_jitter.value * 1.1}),
])
def test_envelope_holds_just_inside_and_breaks_just_outside(saturating, inside, outside):
    assert run(saturating, **inside).exact
    result = run(saturating, **outside)
    assert not result.exact
    assert result.first_inexact_layer == "layers.0"
    assert result.layers["layers.0"] is False


def test_read_noise_breaks_exactness_and_a_broken_reset_fires_twice(saturating):
    assert not run(saturating, read_noise=0.02).exact
    snn, batch = saturating
    broken = verify_hardware(snn, chip_read(snn), **batch, broken_reset=True)
    assert broken.max_spikes_per_neuron >= 2


def test_read_model_refuses_bad_settings():
    for bad in ({"dt": 0.0}, {"dt": float("inf")}, {"dt": 1e-9, "adc_bits": 0}, {"dt": 1e-9, "jitter": -1.0},
                {"dt": 1e-9, "read_noise": float("nan")}, {"dt": 1e-9, "drift": -1.0}):
        with pytest.raises(OttersError):
            ChipRead(PAPER_CURVE, **bad)


def test_cli_hardware_json(capsys):
    args = ("verify", "--preset", "otters-1bitkv", "--geometry", "tiny", "--random-init", "--batch", "2",
            "--simulator", "hardware", "--json")
    code, out, _ = run_main(capsys, *args)
    data = json.loads(out)
    assert code == 0 and data["exact"] is True and data["max_spikes_per_neuron"] == 1
    assert {"exact", "max_level_diff", "max_spikes_per_neuron", "layers"} <= set(data)
    code, out, _ = run_main(capsys, *args, "--adc-bits", "3")
    data = json.loads(out)
    assert code == 1 and data["exact"] is False and data["first_inexact_layer"] == "layers.0"


@pytest.mark.parametrize("extra, fragment", [(("--dt", "-1"), "dt"), (("--jitter", "nan"), "jitter"),
                                             (("--coding", "mttfs"), "plain TTFS")])
def test_cli_hardware_bad_input(capsys, extra, fragment):
    code, out, err = run_main(capsys, "verify", "--preset", "otters-1bitkv", "--geometry", "tiny", "--random-init",
                              "--batch", "2", "--simulator", "hardware", *extra)
    assert code == 2 and out == "" and err.startswith("otters: error:") and fragment in err
    assert len(err.strip().splitlines()) == 1


def test_mlp_has_no_hardware_simulator(capsys):
    code, _out, err = run_main(capsys, "verify", "--random-mlp", "--simulator", "hardware")
    assert code == 2 and "BERT student" in err
