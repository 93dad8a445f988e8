"""Spiking neurons (otters.vit.neurons): hand-worked dynamics, surrogate gradients, a NumPy cross-check."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.vit.neurons import (
    LIF,
    ReLUNeuron,
    TernaryLIF,
    heaviside,
    lif_multistep,
    make_neuron,
    relu_multistep,
    ternary_multistep,
)


def _seq(values):
    return torch.tensor(values, dtype=torch.float64).view(-1, 1)


def test_lif_hand_worked():
    # tau 2, V_th 1: H = V + (X - V)/2.  t0: H = .75 (silent); t1: H = .75 + (1.5 - .75)/2 = 1.125 -> spike,
    # V = 0; t2: H = .25 (silent); t3: H = .25 + (3 - .25)/2 = 1.625 -> spike.
    assert lif_multistep(_seq([1.5, 1.5, 0.5, 3.0])).flatten().tolist() == [0, 1, 0, 1]


def test_ternary_hand_worked():
    # t0: H = -1.5 -> -1, reset; t1: H = .75 -> 0; t2: H = 1.125 -> +1, reset; t3: H = -.5 -> 0
    assert ternary_multistep(_seq([-3.0, 1.5, 1.5, -1.0])).flatten().tolist() == [-1, 0, 1, 0]


def test_relu_hand_worked():
    # t0: H = 1 -> emits 1, V = 0; t1: H = -1 -> 0, V = -1; t2: H = -1 + (1 + 1)/2 = 0 -> 0; t3: H = .5 -> .5
    assert relu_multistep(_seq([2.0, -2.0, 1.0, 1.0])).flatten().tolist() == [1.0, 0.0, 0.0, 0.5]


def test_hard_reset_and_v_reset():
    # with V_reset = 0.5: H0 = .5 + (3 - 0)/2 = 2 -> spike -> V = .5; H1 = .5 + (0 - 0)/2 = .5 -> silent
    s = lif_multistep(_seq([3.0, 0.0]), v_reset=0.5)
    assert s.flatten().tolist() == [1, 0]


def test_surrogate_gradient_at_threshold():
    # one step, X = 2 -> H = 1 = V_th. dS/dX = g(0) / tau; sigmoid: alpha/4 = 1 -> 0.5; rectangle: 1 -> 0.5
    for surrogate in ("sigmoid", "rectangle"):
        x = torch.tensor([[2.0]], dtype=torch.float64, requires_grad=True)
        lif_multistep(x, surrogate=surrogate).sum().backward()
        assert x.grad.item() == pytest.approx(0.5)


def test_gradient_flows_through_time():
    # the first input changes the second step's potential: its gradient has a term through V[0]
    x = torch.tensor([[0.5], [1.6]], dtype=torch.float64, requires_grad=True)
    lif_multistep(x)[1].sum().backward()
    assert x.grad[0].item() != 0.0 and x.grad[1].item() != 0.0


def _numpy_neuron(x, kind, tau, v_th, v_reset):
    """An independent float64 NumPy simulation of the same equations (forward only)."""
    v = np.full(x.shape[1:], v_reset)
    out = []
    for xt in x:
        h = v + (xt - (v - v_reset)) / tau
        if kind == "relu":
            s = np.maximum(h - v_reset, 0.0)
            v = h - s
        else:
            s = (h >= v_th).astype(float)
            if kind == "ternary":
                s = s - (h <= -v_th)
            v = np.where(s != 0, v_reset, h)
        out.append(s)
    return np.stack(out)


@settings(max_examples=25)
@given(kind=st.sampled_from(["binary", "ternary", "relu"]), T=st.integers(1, 6), tau=st.sampled_from([1.0, 2.0, 4.0]),
       v_reset=st.sampled_from([0.0, -0.25]), seed=st.integers(0, 10_000))
def test_matches_numpy_simulation(kind, T, tau, v_reset, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-24, 25, (T, 7)) / 8  # dyadic: both simulations compute the same floats exactly
    fn = {"binary": lif_multistep, "ternary": ternary_multistep}
    xt = torch.tensor(x)
    out = relu_multistep(xt, tau, v_reset) if kind == "relu" else fn[kind](xt, tau, 1.0, v_reset)
    assert np.array_equal(out.numpy(), _numpy_neuron(x, kind, tau, 1.0, v_reset))
    allowed = {"binary": {0.0, 1.0}, "ternary": {-1.0, 0.0, 1.0}}
    if kind in allowed:
        assert set(np.unique(out.numpy()).tolist()) <= allowed[kind]
    else:
        assert bool((out >= 0).all())


def test_ternary_surrogate_has_both_thresholds():
    # one step, tau 2: X = -2 -> H = -1 = -V_th. S = Theta(H - 1) - Theta(-H - 1), so
    # dS/dH = g(H - 1) + g(-H - 1) = g(-2) + g(0) with g(0) = alpha / 4 = 1; dS/dX = dS/dH / tau
    x = torch.tensor([[-2.0]], dtype=torch.float64, requires_grad=True)
    ternary_multistep(x).sum().backward()
    sig = torch.sigmoid(torch.tensor(4.0 * -2.0))  # g(H - 1) at H = -1: u = -2
    expected = (4 * sig * (1 - sig) + 1.0) / 2  # (g(-2) + g(0)) / tau
    assert x.grad.item() == pytest.approx(expected.item())


def test_modules_and_errors():
    x = torch.randn(3, 4, 5)
    assert LIF()(x).shape == x.shape and TernaryLIF()(x).shape == x.shape and ReLUNeuron()(x).shape == x.shape
    assert make_neuron("real")(x) is x
    with pytest.raises(OttersError):
        make_neuron("quaternary")
    with pytest.raises(OttersError):
        lif_multistep(x, tau=0.5)
    with pytest.raises(OttersError):
        LIF(surrogate="arctan")
    with pytest.raises(OttersError):
        heaviside(x, surrogate="arctan")
