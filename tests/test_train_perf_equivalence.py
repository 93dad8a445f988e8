"""The performance pass of distillation changes speed, not values (docs/training.md, Performance)."""

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.nn.qlinear import QuantEmbedding
from otters.quant import binarize_weight, binary_weight_codes, hard_sign
from otters.train.loop import TrainConfig
from otters.train.optim import build_optimizer


def _whole_table(weight: torch.Tensor, ids: torch.Tensor, pad) -> torch.Tensor:
    """The former forward: binarise every row, then index."""
    return F.embedding(ids, binarize_weight(weight, per_row=True), pad)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(2, 40), pad=st.sampled_from([None, 0, 1]),
       batch=st.integers(1, 4), length=st.integers(1, 9))
def test_gathered_embedding_equals_whole_table_binarisation(seed, rows, pad, batch, length):
    torch.manual_seed(seed)
    emb = QuantEmbedding(rows, 8, binary=True, padding_idx=pad)
    ids = torch.randint(0, rows, (batch, length))
    if pad is not None:
        ids[0, -1] = pad  # the padding row is used at least once
    latent = emb.weight.detach().clone().requires_grad_(True)
    expected = _whole_table(latent, ids, pad)
    out = emb(ids)
    grad = torch.randn_like(out)
    out.backward(grad)
    expected.backward(grad)
    assert torch.equal(out, expected)
    assert torch.equal(emb.weight.grad, latent.grad)
    if pad is not None:
        assert not emb.weight.grad[pad].any()
    emb.freeze()
    assert torch.equal(emb(ids), expected.detach())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), per_row=st.booleans(), zeros=st.integers(0, 5))
def test_binarised_weight_is_codes_times_scale_bit_for_bit(seed, per_row, zeros):
    torch.manual_seed(seed)
    weight = torch.randn(6, 10)
    weight.view(-1)[:zeros] = weight.mean()  # ties with the centre: sign(0) must be +1
    codes, scale = binary_weight_codes(weight, per_row=per_row)
    assert torch.equal(binarize_weight(weight, per_row=per_row), codes.float() * scale)
    assert set(codes.unique().tolist()) <= {-1, 1}


def test_hard_sign_keeps_dtype_and_maps_zero_to_plus_one():
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([-3.0, -0.0, 0.0, 2.0], dtype=dtype)
        out = hard_sign(x)
        assert out.dtype == dtype
        assert out.tolist() == [-1.0, 1.0, 1.0, 1.0]


def test_fused_adamw_follows_the_single_tensor_update():
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    twin = torch.nn.Linear(5, 3)
    twin.load_state_dict(model.state_dict())
    cfg = TrainConfig(lr=1e-2)
    fused = build_optimizer(model, cfg.lr, cfg.weight_decay, cfg.step_size_lr)
    reference = torch.optim.AdamW([{"params": [twin.weight], "weight_decay": 0.01},
                                   {"params": [twin.bias], "weight_decay": 0.0}], lr=1e-2, foreach=False)
    for _ in range(3):
        x = torch.randn(4, 5)
        for m, opt in ((model, fused), (twin, reference)):
            opt.zero_grad()
            m(x).square().sum().backward()
            opt.step()
    assert fused.param_groups[0]["fused"]
    assert torch.allclose(model.weight, twin.weight, atol=1e-6)
    assert torch.allclose(model.bias, twin.bias, atol=1e-6)
