"""Stepped thresholds in input units (otters.snn.neuron): comparisons only, same levels as the
quantizer's floor(V/alpha + 1/2), at and around every threshold."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.quant import LSQQuantizer, potential_from_accumulator
from otters.snn.neuron import accumulator_thresholds, population_from_quantizer, value_thresholds


def _quantizer(bits, signed, alpha):
    q = LSQQuantizer(bits, signed).eval()
    with torch.no_grad():
        q.alpha.fill_(alpha)
    q.initialized.fill_(True)
    return q


def _around(values: torch.Tensor) -> torch.Tensor:
    """The thresholds and their float32 neighbours on both sides."""
    finite = values[torch.isfinite(values)].to(torch.float32)
    return torch.cat([finite, torch.nextafter(finite, torch.tensor(-float("inf"))),
                      torch.nextafter(finite, torch.tensor(float("inf")))])


@settings(max_examples=30)
@given(bits=st.integers(1, 8), signed=st.booleans(), log_alpha=st.floats(-12, 6), seed=st.integers(0, 2**16))
def test_value_thresholds_reproduce_the_quantizer(bits, signed, log_alpha, seed):
    q = _quantizer(bits, signed, 2.0 ** log_alpha * 1.37)
    pop = population_from_quantizer(q, "x")
    thr = value_thresholds(pop)
    assert thr.values.shape == (pop.T,) and bool((thr.values[1:] >= thr.values[:-1]).all())
    gen = torch.Generator().manual_seed(seed)
    scale = float(q.alpha.detach()) * 2 ** bits
    x = torch.cat([torch.randn(2000, generator=gen) * scale, _around(thr.values), torch.tensor([0.0, -0.0])])
    assert torch.equal(pop.decode(thr.steps(x)), q.levels(x))


@settings(max_examples=25)
@given(bits=st.integers(1, 6), signed=st.booleans(), log_scale=st.floats(-10, 2), channels=st.integers(1, 9),
       seed=st.integers(0, 2**16))
def test_accumulator_thresholds_reproduce_potential_then_quantizer(bits, signed, log_scale, channels, seed):
    gen = torch.Generator().manual_seed(seed)
    q = _quantizer(bits, signed, float(torch.rand(1, generator=gen)) + 0.05)
    alpha = float(q.alpha.detach())
    pop = population_from_quantizer(q, "y")
    weight_scale = torch.tensor(2.0 ** log_scale * 0.91)
    alpha_in = torch.tensor(0.37)
    bias = torch.randn(channels, generator=gen)

    def potential(acc):
        return potential_from_accumulator(acc, weight_scale, alpha_in, bias)

    thr = accumulator_thresholds(pop, potential, channels)
    assert thr.values.shape == (channels, pop.T)
    span = int(min(2**23, 4 * 2**bits * alpha / float(weight_scale * alpha_in) + 50))
    acc = torch.randint(-span, span + 1, (3000, channels), generator=gen).to(torch.float32)
    edges = thr.values.clamp(-2**24, 2**24).T.to(torch.float32)  # (T, channels): at, below and above each threshold
    acc = torch.cat([acc, edges, edges - 1, edges + 1]).clamp(-2**24, 2**24)
    assert torch.equal(pop.decode(thr.steps(acc)), q.levels(potential(acc)))


@pytest.mark.parametrize("signed", [False, True])
def test_a_decreasing_potential_is_refused(signed):
    """A negative weight scale makes V decrease with the accumulator: no stepped threshold exists."""
    pop = population_from_quantizer(_quantizer(4, signed, 0.5), "z")
    with pytest.raises(OttersError, match="not monotone"):
        accumulator_thresholds(pop, lambda acc: potential_from_accumulator(acc, torch.tensor(-0.01), torch.tensor(1.0)), 3)
