"""A2OS2A attention: addition-only recomputation equals the matmuls exactly; AC/MAC counts by hand."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.vit.attention import (
    PRESETS,
    addition_only_attention,
    attention_core,
    attention_ops,
    get_preset,
    masked_matmul,
    product_ops,
)
from otters.vit.model import LinearBN, OpStats, _conv_acs
from otters.vit.neurons import ReLUNeuron


def _operand(kind, shape, gen):
    """Spike tensors of a kind; ReLU/real operands are dyadic (k/8), so float64 sums are exact."""
    if kind == "binary":
        return torch.randint(0, 2, shape, generator=gen).double()
    if kind == "ternary":
        return torch.randint(-1, 2, shape, generator=gen).double()
    if kind == "relu":
        return torch.randint(0, 40, shape, generator=gen).double() / 8
    return torch.randint(-40, 40, shape, generator=gen).double() / 8


@settings(max_examples=20)
@given(name=st.sampled_from(["seed", "paper", "binary"]), T=st.integers(1, 3), N=st.integers(1, 6),
       d=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_addition_only_equals_matmul(name, T, N, d, seed):
    preset = get_preset(name)
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (_operand(kind, (T, 2, 2, N, d), gen) for kind in (preset.q, preset.k, preset.v))
    neuron = ReLUNeuron(2.0)
    reference = attention_core(q, k, v, preset, neuron)
    additions_only = addition_only_attention(q, k, v, preset, neuron)
    assert torch.equal(additions_only, reference)


def test_addition_only_path_never_multiplies(monkeypatch):
    """Forbid every multiplication and matmul entry point; the addition-only path must still run."""
    gen = torch.Generator().manual_seed(0)

    def forbidden(*args, **kwargs):
        raise AssertionError("multiplication used")

    for name in ("seed", "paper", "binary"):
        preset = PRESETS[name]
        q, k, v = (_operand(kind, (2, 1, 2, 4, 3), gen) for kind in (preset.q, preset.k, preset.v))
        # the ReLU neuron's only arithmetic on the scores is /tau = /2 (a shift), adds and a max
        relu_weights = ReLUNeuron(2.0)
        expected = attention_core(q, k, v, preset, relu_weights)
        with monkeypatch.context() as m:
            for attr in ("__mul__", "__rmul__", "__imul__", "__matmul__", "__rmatmul__"):
                m.setattr(torch.Tensor, attr, forbidden)
            for fn in ("mul", "matmul", "mm", "bmm", "einsum", "tensordot", "addcmul"):
                m.setattr(torch, fn, forbidden)
            got = addition_only_attention(q, k, v, preset, relu_weights)
        assert torch.equal(got, expected)


def test_masked_matmul_refuses_real_products_and_non_spikes():
    a, b = torch.ones(2, 3, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64)
    with pytest.raises(OttersError):
        masked_matmul(a, "relu", b, "real")
    with pytest.raises(OttersError):
        masked_matmul(a * 2, "binary", b, "real")
    with pytest.raises(OttersError):
        addition_only_attention(a, a, a, PRESETS["ann"])


def test_product_ops_hand_count():
    a = torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 1.0]])  # ternary
    b = torch.tensor([[0.5, 0.0], [2.0, 1.0], [0.0, 3.0]])  # real
    # non-zero products: a00*b00, a02*b21, a12*b21 -> 3 accumulates
    assert product_ops(a, "ternary", b, "real") == (3, 0)
    # the same count between two real tensors is multiplies
    assert product_ops(a.abs() * 0.5, "relu", b, "real") == (0, 3)


def test_attention_ops_hand_count_seed():
    preset = PRESETS["seed"]
    q = torch.tensor([[1.0, 0.0], [-1.0, 1.0]]).view(1, 1, 1, 2, 2)
    k = torch.tensor([[1.0, 1.0], [0.0, -1.0]]).view(1, 1, 1, 2, 2)
    v = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).view(1, 1, 1, 2, 2)
    # Q K^T: column nnz of Q (2, 1) x row nnz of K^T (1, 2) -> 2 + 2 = 4 ACs.
    # scores [[1, 0], [0, -1]] -> ReLU neuron (one step, tau 2: relu(x / 2)) -> [[.5, 0], [0, 0]];
    # A V: column nnz of A (1, 0) x row nnz of V (1, 2) -> 1 AC.
    ops = attention_ops(q, k, v, preset, ReLUNeuron(2.0))
    assert ops == {"acs": 5, "macs": 0}


def test_attention_ops_ann_counts_macs():
    gen = torch.Generator().manual_seed(1)
    N, d = 3, 4
    q, k, v = (torch.rand(1, 1, 1, N, d, generator=gen) + 0.1 for _ in range(3))
    ops = attention_ops(q, k, v, PRESETS["ann"])
    # dense: N*N*d (scores) + N*N*d (weights x V) + N*N (1/sqrt(d) multiplies)
    assert ops == {"acs": 0, "macs": 2 * N * N * d + N * N}


def test_paper_preset_uses_cheaper_order():
    # Q (K^T V) with N = 4, d = 2, all ones: K^T V = d*N*d products, Q (.) = N*d*d products
    ones = torch.ones(1, 1, 1, 4, 2)
    ops = attention_ops(ones, ones, ones, PRESETS["paper"])
    assert ops == {"acs": 2 * 4 * 2 + 4 * 2 * 2, "macs": 0}
    # and the value is the same as (Q K^T) V
    assert torch.equal(attention_core(ones, ones, ones, PRESETS["paper"]), (ones @ ones.transpose(-2, -1)) @ ones)


def test_binary_scale_is_a_shift():
    gen = torch.Generator().manual_seed(2)
    q, k, v = (_operand("binary", (1, 1, 1, 5, 3), gen) for _ in range(3))
    expected = (q @ k.transpose(-2, -1) @ v) * 0.125
    assert torch.equal(addition_only_attention(q, k, v, PRESETS["binary"]), expected)


def test_layer_counts_hand_count():
    stats = OpStats()
    layer = LinearBN(4, 5)
    spikes = torch.tensor([[[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]]])  # (T=1, B=1, N=2, C=4): 3 spikes
    layer(spikes, stats)
    assert stats.acs == 3 * 5
    conv = torch.nn.Conv2d(2, 7, 3, padding=1)
    s = torch.zeros(1, 1, 2, 3, 3)
    s[0, 0, 0, 0, 0] = 1.0  # a corner spike reaches the 2x2 outputs around it
    s[0, 0, 1, 1, 1] = 1.0  # the centre spike reaches all 9 outputs
    assert _conv_acs(s, conv) == (4 + 9) * 7


def test_unknown_preset():
    with pytest.raises(OttersError):
        get_preset("softmax")
    assert math.log2(PRESETS["binary"].scale) == -3
