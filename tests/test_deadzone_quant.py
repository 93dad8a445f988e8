"""The dead-zone quantizer: definition, straight-through gradients, in-place application, state round trip."""

import pytest
import torch

from otters import convert, verify
from otters.errors import OttersError
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.quant import LSQQuantizer
from otters.quant.deadzone import DeadZoneQuantizer, apply_dead_zone, dead_zone_state, load_dead_zone_state

torch.set_num_threads(1)


def _pair(bits=4, signed=True, dead_zone=0, silent=0, seed=0):
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(seed)) * 2
    plain = LSQQuantizer(bits, signed)
    plain.initialize_from(x)
    dz = DeadZoneQuantizer(bits, signed, dead_zone, silent)
    with torch.no_grad():
        dz.alpha.copy_(plain.alpha)
        dz.initialized.fill_(True)
    return plain, dz, x


def test_levels_follow_the_definition_per_layer_and_per_channel():
    plain, dz, x = _pair(dead_zone=2, silent=1)
    q = plain.levels(x)
    assert torch.equal(dz.levels(x), torch.where((q - 1).abs() <= 2, 1, q))
    silent = torch.tensor([-8, -3, 0, 0, 2, 5, 7, 1])
    dz.set_dead_zone(1, silent)
    assert torch.equal(dz.levels(x), torch.where((q - silent).abs() <= 1, silent.expand_as(q), q))
    dz.eval()
    assert torch.equal(dz(x), dz.levels(x).float() * dz.alpha.detach())


@pytest.mark.parametrize("signed", [True, False])
def test_zero_dead_zone_is_the_lsq_quantizer_values_and_gradients(signed):
    plain, dz, x = _pair(signed=signed, dead_zone=0)
    outs = []
    for q in (plain, dz):
        q.train()
        xi = x.clone().requires_grad_(True)
        y = q(xi)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        outs.append((y.detach(), xi.grad, q.alpha.grad))
    assert all(torch.equal(a, b) for a, b in zip(*outs))


def test_straight_through_gradients_with_a_dead_zone():
    """d/dx = 1 inside the clip range (also inside the dead zone); d/dalpha = (q_dz - x/alpha) * g inside."""
    _, dz, x = _pair(bits=3, signed=True, dead_zone=1, silent=0)
    dz.train()
    xi = x.clone().requires_grad_(True)
    dz(xi).sum().backward()
    alpha = dz.alpha.detach()
    ratio = x / alpha
    inside = (ratio >= dz.qmin) & (ratio <= dz.qmax)
    assert torch.equal(xi.grad, inside.float())
    q_dz = dz.levels(x).float()
    # outside the range the level is the bound itself: d(alpha * bound)/dalpha = bound
    expected = torch.where(inside, q_dz - ratio, q_dz).sum() / (x.numel() * dz.qp) ** 0.5
    assert torch.allclose(dz.alpha.grad, expected, rtol=1e-5, atol=1e-6)


def test_sign_mode_refuses_a_dead_zone_and_is_skipped_by_default():
    with pytest.raises(OttersError, match="sign-mode"):
        DeadZoneQuantizer(1, True, dead_zone=1)
    with pytest.raises(OttersError, match="-1 or \\+1"):
        DeadZoneQuantizer(1, True, silent=0)
    config = QuantMLPConfig(sizes=[8, 8, 4], act_bits=1, signed_input=True, signed_hidden=False, weight_bits=2)
    x = torch.randn(16, 8)
    model = random_qmlp(config, x)
    changed = apply_dead_zone(model, 1)
    assert changed == ["quants.0", "quants.1"]  # not the sign-mode input, not the weight quantizers
    with pytest.raises(OttersError, match="in \\[0, 1\\]"):
        apply_dead_zone(model, 1, silent=3)


def test_apply_keeps_the_alpha_parameter_so_optimizers_still_train_it():
    x = torch.randn(32, 12, generator=torch.Generator().manual_seed(2))
    model = random_qmlp(QuantMLPConfig(sizes=[12, 12, 4], act_bits=4, signed_input=True), x)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.quants[0].alpha
    apply_dead_zone(model, 1)
    assert isinstance(model.quants[0], DeadZoneQuantizer) and model.quants[0].alpha is before
    model.train()
    loss = model(x).pow(2).mean()
    loss.backward()
    assert model.quants[0].alpha.grad is not None
    value = float(before.detach())
    optimizer.step()
    assert float(model.quants[0].alpha.detach()) != value


def test_dead_zone_state_round_trip_and_checkpoint_compatibility():
    x = torch.randn(32, 12, generator=torch.Generator().manual_seed(3))
    config = QuantMLPConfig(sizes=[12, 12, 4], act_bits=4, signed_input=True)
    model = random_qmlp(config, x, seed=3)
    apply_dead_zone(model, 2, {"input_quant": torch.arange(-6, 6), "quants.0": 1}, names=["input_quant", "quants.0"])
    state = dead_zone_state(model)
    assert state["quants.0"] == {"dead_zone": 2, "silent": 1}
    fresh = random_qmlp(config, x, seed=3)
    fresh.load_state_dict(model.state_dict())  # dead-zone buffers are not persistent: plain loaders work
    load_dead_zone_state(fresh, state)
    assert all(torch.equal(a.values, b.values) for a, b in zip(model.integer_forward(x), fresh.integer_forward(x)))
    with pytest.raises(OttersError, match="no quantizer named"):
        load_dead_zone_state(fresh, {"nope": {"dead_zone": 1, "silent": 0}})


def test_training_with_a_dead_zone_then_converting_is_exact():
    """Quantization-aware fine-tuning through the dead zone, then M-TTFS conversion of the result."""
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(128, 16, generator=gen)
    target = torch.tanh(x @ torch.randn(16, 4, generator=gen))
    model = random_qmlp(QuantMLPConfig(sizes=[16, 32, 4], act_bits=4, weight_bits=4, signed_input=True,
                                       quantize_output=False), x, seed=4)
    apply_dead_zone(model, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = (model(x) - target).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    model.eval()
    result = verify(model, convert(model, coding="mttfs", calibration=x), x)
    assert result.exact, result.to_dict()
