"""Conversion: refusals by name, the check failing on a wrong threshold, Sequential QNNs, hooks, I/O."""

import pytest
import torch
from torch import nn

from otters import convert, verify
from otters.device import PAPER_CURVE
from otters.errors import OttersError
from otters.nn import QuantLinear
from otters.nn.qmlp import MultiBitLinear, QuantMLPConfig, load_qmlp, random_qmlp, save_qmlp
from otters.quant import LSQQuantizer
from otters.snn import draw_variation, spiking_accumulator

torch.set_num_threads(1)


def _mlp(seed=0, **kw):
    config = QuantMLPConfig(**{"sizes": [16, 16, 16, 8], "act_bits": 4, **kw})
    x = torch.randn(8, config.sizes[0], generator=torch.Generator().manual_seed(seed))
    return random_qmlp(config, x, seed=seed), x


def _calibrated_quant(bits, signed, x):
    q = LSQQuantizer(bits, signed)
    q.initialize_from(x)
    return q


def test_wrong_threshold_floor_instead_of_round_is_reported_with_its_layer():
    qnn, x = _mlp(seed=3, residual=True)
    snn = convert(qnn)
    assert verify(qnn, snn, x).exact
    pops = snn.populations()
    wrong = snn.with_population("layers.1", pops["layers.1"].with_shift(0.0))  # no alpha/2: floor
    for simulator in ("event", "tick"):
        result = verify(qnn, wrong, x, simulator=simulator)
        assert not result.exact
        assert result.first_inexact == "layers.1"
        by_name = {c.name: c for c in result.layers}
        assert by_name["input_quant"].exact and by_name["layers.0"].exact
        assert by_name["layers.1"].max_diff == 1 and by_name["layers.1"].mismatches > 0
        assert result.to_dict()["first_inexact_layer"] == "layers.1"


@pytest.mark.parametrize(
    "module, expected",
    [
        (nn.Linear(8, 8), "Linear"),
        (nn.GELU(), "GELU"),
        (nn.LayerNorm(8), "LayerNorm"),
        (QuantLinear(8, 8, binary=False), "binary=False"),
    ],
)
def test_modules_without_exact_equivalent_are_refused_by_name(module, expected):
    x = torch.randn(4, 8)
    seq = nn.Sequential(_calibrated_quant(4, True, x), QuantLinear(8, 8), _calibrated_quant(4, False, x), module)
    with pytest.raises(OttersError, match=expected) as info:
        convert(seq)
    assert "3" in str(info.value)  # the module's name in the Sequential


def test_replaced_layer_inside_a_quant_mlp_is_refused_by_name():
    qnn, _ = _mlp()
    qnn.layers[1] = nn.Linear(16, 16)
    with pytest.raises(OttersError, match=r"layers\.1 \(Linear\)"):
        convert(qnn)
    qnn, _ = _mlp()
    qnn.quants[0] = nn.GELU()
    with pytest.raises(OttersError, match=r"quants\.0 \(GELU\)"):
        convert(qnn)


def test_relu_before_a_signed_quantizer_is_refused():
    x = torch.randn(4, 8)
    seq = nn.Sequential(_calibrated_quant(4, True, x), QuantLinear(8, 8), nn.ReLU(), _calibrated_quant(4, True, x))
    with pytest.raises(OttersError, match="ReLU"):
        convert(seq)


def test_unsupported_model_type_is_refused():
    with pytest.raises(OttersError, match="GELU"):
        convert(nn.GELU())


def test_sequential_qnn_with_relu_converts_exactly():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(16, 12, generator=gen)
    q_in = _calibrated_quant(3, True, x)
    lin1, lin2 = QuantLinear(12, 10), MultiBitLinear(10, 6, weight_bits=3)
    q_mid = _calibrated_quant(3, False, torch.relu(lin1.integer_forward(q_in.levels(x), q_in.alpha)))
    seq = nn.Sequential(q_in, lin1, nn.ReLU(), q_mid, lin2).eval()
    snn = convert(seq)
    assert snn.layer_names == ["0", "1", "4"]
    for simulator in ("event", "tick"):
        result = verify(seq, snn, x, simulator=simulator)
        assert result.exact and result.layers[-1].kind == "potential"


def test_uninitialised_quantizer_is_refused():
    x = torch.randn(4, 8)
    seq = nn.Sequential(LSQQuantizer(4, True), QuantLinear(8, 8))
    with pytest.raises(OttersError, match="initialised"):
        convert(seq)
    seq[0].initialize_from(x)
    assert verify(seq, convert(seq), x).exact


@pytest.mark.parametrize("bits, signed", [(4, False), (4, True), (1, True), (1, False), (8, True)])
def test_spiking_accumulator_hook_keeps_quant_linear_exact(bits, signed):
    gen = torch.Generator().manual_seed(bits)
    x = torch.randn(6, 20, generator=gen)
    quant = _calibrated_quant(bits, signed, x)
    layer = QuantLinear(20, 9)
    reference = layer.integer_forward(quant.levels(x), quant.alpha)
    layer.accumulator = spiking_accumulator(quant)
    assert torch.equal(layer.integer_forward(quant.levels(x), quant.alpha), reference)


def test_checkpoint_round_trip_keeps_the_conversion_exact(tmp_path):
    qnn, x = _mlp(seed=9, weight_bits=2, signed_hidden=True)
    path = save_qmlp(qnn, tmp_path / "mlp.safetensors")
    loaded = load_qmlp(path)
    for a, b in zip(qnn.integer_forward(x), loaded.integer_forward(x)):
        assert torch.equal(a.values, b.values)
    assert verify(loaded, convert(loaded), x).exact


def test_load_qmlp_refuses_other_files(tmp_path):
    from otters.io import save_tensors

    save_tensors(tmp_path / "other.safetensors", {"w": torch.zeros(2)})
    with pytest.raises(OttersError, match="not a QuantMLP checkpoint"):
        load_qmlp(tmp_path / "other.safetensors")


def test_bad_inputs_are_refused():
    qnn, x = _mlp()
    snn = convert(qnn)
    with pytest.raises(OttersError, match="features"):
        snn.run(torch.randn(2, 5))
    with pytest.raises(OttersError, match="NaN"):
        snn.run(torch.full((2, 16), float("nan")))
    with pytest.raises(OttersError, match="simulator"):
        snn.run(x, simulator="gpu")


def test_quantized_bert_student_runs_bit_exact_through_spiking_accumulators():
    """Every spiking stage of a tiny Otters student (QKV, QK^T with binary K, PV, O, FFN1, FFN2,
    pooler) accumulates from TTFS spikes through the ADC table: the logits do not change a bit."""
    from otters.models.presets import build_student
    from otters.models.stages import spiking_stages
    from otters.quant import exact_accumulate

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_student("otters-1bitkv", "tiny", num_labels=2)
    ids = torch.randint(0, 128, (2, 9), generator=torch.Generator().manual_seed(0))
    model.train()
    model(input_ids=ids)  # LSQ steps initialise on a first batch
    model.eval()
    with torch.no_grad():
        reference = model(input_ids=ids).logits
        stages = spiking_stages(model)
        for stage in stages:
            stage.set_accumulator(spiking_accumulator(stage.input_quant, name=stage.name))
        assert torch.equal(model(input_ids=ids).logits, reference)
    # A drawn chip makes the same accumulator lossy, as it should.
    quant = stages[0].input_quant
    levels = torch.randint(quant.qmin, quant.qmax + 1, (4, 32), generator=torch.Generator().manual_seed(1))
    codes = stages[0].linear.weight_codes()[0]
    chip = spiking_accumulator(quant, variation=draw_variation(PAPER_CURVE, 0.2, 0.2, 0.2, seed=1))
    assert torch.equal(spiking_accumulator(quant)(levels, codes), exact_accumulate(levels, codes))
    assert not torch.equal(chip(levels, codes), exact_accumulate(levels, codes))
