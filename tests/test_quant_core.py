"""otters.quant: rounding rule, binarised weights, LSQ quantizer, HAT noise, integer arithmetic."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.quant import (
    GaussianActivationNoise,
    LSQQuantizer,
    binarize_weight,
    binary_weight_codes,
    exact_accumulate,
    linear_from_levels,
    potential_from_accumulator,
    quant_range,
    round_half_up,
)

torch.set_num_threads(1)


def test_round_half_up_differs_from_half_to_even():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51])
    assert round_half_up(x).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 0.0, -1.0]
    assert np.array_equal(round_half_up(np.array([0.5, 2.5])), [1.0, 3.0])


@settings(max_examples=25)
@given(rows=st.integers(1, 6), cols=st.integers(1, 9), per_row=st.booleans(), seed=st.integers(0, 10_000))
def test_binarize_matches_codes_times_scale(rows, cols, per_row, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g)
    codes, scale = binary_weight_codes(w, per_row=per_row)
    assert codes.dtype == torch.int8 and set(codes.unique().tolist()) <= {-1, 1}
    assert torch.equal(binarize_weight(w, per_row=per_row), codes * scale)
    centre = w.mean(dim=1, keepdim=True) if per_row else w.mean()
    expected = torch.where(w - centre >= 0, 1.0, -1.0) * (w.abs().mean(dim=1, keepdim=True) if per_row else w.abs().mean())
    torch.testing.assert_close(binarize_weight(w, per_row=per_row), expected, rtol=0, atol=0)
    assert scale.shape == ((rows, 1) if per_row else ())


def test_binarize_sign_of_zero_is_plus_one_and_gradient_is_straight_through():
    w = torch.tensor([[1.0, -1.0, 0.0]], requires_grad=True)  # mean 0: the 0 entry sits exactly on it
    codes, _ = binary_weight_codes(w)
    assert codes.tolist() == [[1, -1, 1]]
    upstream = torch.tensor([[0.3, -2.0, 5.0]])
    binarize_weight(w).backward(upstream)
    assert torch.equal(w.grad, upstream)


@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("signed", [True, False])
def test_ranges(bits, signed):
    q = LSQQuantizer(bits, signed)
    if signed and bits == 1:
        assert (q.qmin, q.qmax) == (-1, 1)
    elif signed:
        assert (q.qmin, q.qmax) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    else:
        assert (q.qmin, q.qmax) == (0, 2**bits - 1)
    q.initialize_from(torch.ones(1))
    with torch.no_grad():
        q.alpha.fill_(0.125)
    q.eval()
    x = torch.linspace(-50, 50, 401)
    levels = q.levels(x)
    assert levels.dtype == torch.int64
    assert int(levels.min()) == q.qmin and int(levels.max()) == q.qmax


@pytest.mark.parametrize("bits", [0, 9, 2.0])
def test_bad_bits(bits):
    with pytest.raises(OttersError):
        quant_range(bits, True)


@settings(max_examples=20)
@given(bits=st.integers(1, 8), signed=st.booleans(), seed=st.integers(0, 10_000))
def test_eval_equals_levels_times_alpha_and_train_forward_matches(bits, signed, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 7, generator=g) * 3
    q = LSQQuantizer(bits, signed)
    train_out = q.train()(x)
    eval_out = q.eval()(x)
    assert torch.equal(eval_out, q.levels(x).float() * q.alpha.detach())
    assert torch.equal(train_out.detach(), eval_out.detach())
    ref = torch.clamp(torch.floor(x / q.alpha.detach() + 0.5), q.qmin, q.qmax)
    if not q.sign_mode:
        assert torch.equal(q.levels(x).float(), ref)


def test_sign_mode():
    q = LSQQuantizer(1, True)
    x = torch.tensor([-2.0, -0.1, 0.0, 0.3, 4.0])
    q.initialize_from(x)
    assert math.isclose(q.alpha.item(), float(x.abs().mean()), rel_tol=1e-6)
    q.eval()
    assert q.levels(x).tolist() == [-1, -1, 1, 1, 1]
    assert torch.equal(q(x), torch.tensor([-1.0, -1.0, 1.0, 1.0, 1.0]) * q.alpha.detach())


def test_initialisation_lsq_and_pow2():
    x = torch.tensor([[0.3, -1.1, 2.0, 0.0]])
    q = LSQQuantizer(4, True)
    q(x)
    assert bool(q.initialized)
    assert math.isclose(q.alpha.item(), 2 * float(x.abs().mean()) / math.sqrt(7), rel_tol=1e-6)
    alpha_after_first = q.alpha.item()
    q(x * 100)  # later batches do not re-initialise
    assert q.alpha.item() == alpha_after_first
    p = LSQQuantizer(4, False, pow2_init=True)
    p(x)
    raw = 2 * float(x.abs().mean()) / math.sqrt(15)
    assert p.alpha.item() == 2.0 ** math.floor(math.log2(raw) + 0.5)


def test_lsq_gradients():
    q = LSQQuantizer(3, True)  # levels -4..3
    q.initialize_from(torch.ones(1))
    with torch.no_grad():
        q.alpha.fill_(0.5)
    x = torch.tensor([0.2, 0.74, -1.9, 1.6, -3.0], requires_grad=True)  # ratios 0.4, 1.48, -3.8, 3.2, -6
    q.train()(x).sum().backward()
    # d/dx: 1 inside the range, 0 where clamped
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    ratio = x.detach() / 0.5
    inside = torch.floor(ratio + 0.5) - ratio
    expected = torch.stack([inside[0], inside[1], inside[2], torch.tensor(3.0), torch.tensor(-4.0)]).sum()
    expected = expected / math.sqrt(x.numel() * 3)
    assert math.isclose(float(q.alpha.grad), float(expected), rel_tol=1e-5)


def test_sign_mode_gradient():
    q = LSQQuantizer(1, True)
    q.initialize_from(torch.ones(1))
    with torch.no_grad():
        q.alpha.fill_(1.0)
    x = torch.tensor([0.5, -2.0], requires_grad=True)
    q.train()(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0]
    # d/dalpha: sign(x) - x/alpha inside, sign(x) outside; grad scale 1/sqrt(2 * 1)
    assert math.isclose(float(q.alpha.grad), ((1 - 0.5) + (-1)) / math.sqrt(2), rel_tol=1e-6)


def test_noise_only_in_training():
    torch.manual_seed(0)
    noise = GaussianActivationNoise(0.2)
    x = torch.linspace(-3, 3, 2001)
    assert noise.eval()(x) is x
    y = noise.train()(x)
    rel = (y - x)[x != 0] / x[x != 0].abs()
    assert 0.17 < float(rel.std()) < 0.23
    assert abs(float(rel.mean())) < 0.03
    assert torch.equal(noise(torch.zeros(5)), torch.zeros(5))
    with pytest.raises(OttersError):
        GaussianActivationNoise(-0.1)


@settings(max_examples=20)
@given(n_in=st.integers(1, 40), n_out=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_linear_from_levels_is_exact_integer_accumulation(n_in, n_out, seed):
    g = torch.Generator().manual_seed(seed)
    levels = torch.randint(-8, 8, (3, n_in), generator=g)
    codes = torch.randint(0, 2, (n_out, n_in), generator=g).to(torch.int8) * 2 - 1
    acc = exact_accumulate(levels, codes)
    assert torch.equal(acc.to(torch.int64), levels @ codes.to(torch.int64).T)
    bias = torch.randn(n_out, generator=g)
    out = linear_from_levels(levels, codes, torch.tensor(0.37), torch.tensor(0.11), bias)
    assert torch.equal(out, potential_from_accumulator(acc, torch.tensor(0.37), 0.11, bias))
    ref = torch.nn.functional.linear(levels.float() * 0.11, codes.float() * 0.37, bias)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_exact_accumulate_guards():
    with pytest.raises(OttersError):
        exact_accumulate(torch.full((1, 4), 2.0**23), torch.ones(1, 4))
    with pytest.raises(OttersError):
        exact_accumulate(torch.tensor([[0.5]]), torch.ones(1, 1))


def test_straight_through_estimators_are_exact_forward_and_identity_backward():
    from otters.quant.rounding import round_half_up_ste, sign_ste, straight_through

    x = torch.tensor([-1.5, -0.5, 0.0, 0.49, 0.5, 2.5], requires_grad=True)
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert round_half_up_ste(x).tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0, 3.0]  # halves go up, not to even
    assert sign_ste(x).tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    for fn in (round_half_up_ste, sign_ste):
        x.grad = None
        fn(x).backward(upstream)
        assert torch.equal(x.grad, upstream)
    # extra arguments reach fn and get no gradient
    shift = torch.tensor(10.0, requires_grad=True)
    x.grad = None
    y = straight_through(lambda v, s: torch.floor(v) + s, x, shift)
    assert y.tolist() == [8.0, 9.0, 10.0, 10.0, 10.0, 12.0]
    y.backward(upstream)
    assert torch.equal(x.grad, upstream) and shift.grad is None
