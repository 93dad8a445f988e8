"""PTsoftmax and BSPN: power-of-two outputs, normalisation, masks, straight-through gradients."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.models.sorbet_ops import BSPN, pow2_round, pt_softmax

torch.set_num_threads(1)


def _is_signed_pow2_or_zero(x: torch.Tensor) -> bool:
    nz = x[x != 0].abs()
    return bool(torch.all(torch.exp2(torch.round(torch.log2(nz))) == nz))


def test_pow2_round_log_domain():
    x = torch.tensor([0.0, 1.0, 1.4, 1.5, -3.0, 0.3, 5.7])
    # log2|x|: 0.485 -> 0, 0.585 -> 1, 1.585 -> 2, -1.737 -> -2, 2.511 -> 3 (round half up in log2)
    assert pow2_round(x).tolist() == [0.0, 1.0, 1.0, 2.0, -4.0, 0.25, 8.0]


@settings(max_examples=25)
@given(length=st.integers(1, 20), seed=st.integers(0, 10_000), spread=st.floats(0.1, 20.0))
def test_pt_softmax_powers_of_two_and_sum_near_one(length, seed, spread):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(3, length, generator=g) * spread
    p = pt_softmax(scores)
    assert _is_signed_pow2_or_zero(p)
    assert bool(torch.all(p <= 1)) and bool(torch.all(p >= 0))
    total = p.sum(-1)
    # Z is the sum rounded to the nearest power of two in log2: the sum lies within a factor sqrt(2)
    assert bool(torch.all(total >= 2**-0.5 - 1e-6)) and bool(torch.all(total <= 2**0.5 + 1e-6))
    # the key with the largest ceil(score) gets the largest probability
    top = p.gather(-1, torch.ceil(scores).argmax(-1, keepdim=True)).squeeze(-1)
    assert torch.equal(top, p.max(-1).values)


def test_pt_softmax_mask_gives_exact_zeros_and_padding_invariance():
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(2, 5, generator=g) * 4
    padded = torch.cat([scores, torch.randn(2, 3, generator=g) * 50], dim=-1)
    mask = torch.tensor([[True] * 5 + [False] * 3] * 2)
    p = pt_softmax(padded, mask)
    assert bool(torch.all(p[:, 5:] == 0))
    assert torch.equal(p[:, :5], pt_softmax(scores))


def test_pt_softmax_has_gradients():
    scores = torch.tensor([[0.3, 2.2, -1.0, 1.7]], requires_grad=True)
    target = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    ((pt_softmax(scores) - target) ** 2).sum().backward()
    assert scores.grad is not None and bool(torch.isfinite(scores.grad).all())
    assert float(scores.grad.abs().sum()) > 0


def test_bspn_outputs_powers_of_two_and_has_gradients():
    torch.manual_seed(0)
    norm = BSPN(16, groups=4, warmup=10)
    x = (torch.randn(2, 5, 16) * 3).requires_grad_(True)
    y = norm.train()(x)
    assert _is_signed_pow2_or_zero(y.detach())
    y.pow(2).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert norm.weight.grad is not None and norm.bias.grad is not None
    assert int(norm.steps) == 1


def test_bspn_training_stats_ignore_padded_tokens_and_eval_is_per_token():
    torch.manual_seed(1)
    x = torch.randn(1, 6, 8)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    a, b = BSPN(8, groups=2), BSPN(8, groups=2)
    noisy = x.clone()
    noisy[:, 4:] = 100.0
    a.train()(x[:, :4])
    b.train()(noisy, mask)
    torch.testing.assert_close(a.running_quad, b.running_quad)
    a.eval()
    full = a(x)
    assert torch.equal(full[:, :3], a(x[:, :3]))


def test_shift_roundings_are_exact_forward_and_identity_backward():
    from otters.models.sorbet_ops import ceil_ste, pow2_ceil_ste, pow2_round_ste

    x = torch.tensor([0.3, 1.0, 1.5, 3.0, 5.7], requires_grad=True)
    upstream = torch.tensor([1.0, -2.0, 3.0, -4.0, 5.0])
    expected = {ceil_ste: [1.0, 1.0, 2.0, 3.0, 6.0], pow2_round_ste: [0.25, 1.0, 2.0, 4.0, 8.0],
                pow2_ceil_ste: [0.5, 1.0, 2.0, 4.0, 8.0]}
    for fn, values in expected.items():
        x.grad = None
        y = fn(x)
        assert y.tolist() == values
        y.backward(upstream)
        assert torch.equal(x.grad, upstream)
