"""The conversion test bed (otters.nn.qmlp): training path, inference path, construction errors."""

import pytest
import torch

from otters.errors import OttersError
from otters.nn.qmlp import MultiBitLinear, QuantMLP, QuantMLPConfig, dequantize, random_qmlp

torch.set_num_threads(1)


@pytest.mark.parametrize("weight_bits", [1, 3])
def test_training_path_gives_gradients_to_weights_and_steps(weight_bits):
    config = QuantMLPConfig(sizes=[12, 12, 5], act_bits=3, weight_bits=weight_bits, residual=True)
    x = torch.randn(16, 12, generator=torch.Generator().manual_seed(0))
    model = random_qmlp(config, x, seed=0).train()
    model(x).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.layers[0].weight.grad.abs().sum() > 0 and model.input_quant.alpha.grad != 0


def test_eval_forward_is_the_dequantized_integer_path():
    config = QuantMLPConfig(sizes=[8, 8, 4], act_bits=4, signed_hidden=True)
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    model = random_qmlp(config, x, seed=1)
    layers = model.integer_forward(x)
    assert [v.name for v in layers] == ["input_quant", "layers.0", "layers.1"]
    assert all(v.values.dtype == torch.int64 for v in layers)
    assert torch.equal(model(x), dequantize(layers[-1].values, model.quants[-1].alpha.detach()))
    assert layers[1].values.min() >= -8 and layers[1].values.max() <= 7


def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(OttersError, match="sizes"):
        QuantMLP(QuantMLPConfig(sizes=[4]))
    with pytest.raises(OttersError, match="2..8 bits"):
        MultiBitLinear(4, 4, weight_bits=9)
    model = random_qmlp(QuantMLPConfig(sizes=[4, 3]), torch.randn(6, 4))
    with pytest.raises(OttersError, match="4 features"):
        model.integer_forward(torch.randn(2, 3))
