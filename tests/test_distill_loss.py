"""Distillation losses against small hand-computed examples."""

import math

import pytest
import torch

from otters.distill.loss import (
    DistillWeights,
    attention_loss,
    distillation_loss,
    hidden_state_loss,
    layer_map,
    masked_mse,
    regression_mse,
    soft_cross_entropy,
)
from otters.errors import OttersError


def test_soft_cross_entropy_by_hand():
    # teacher logits (0, ln 3) -> p = (1/4, 3/4); student logits (0, 0) -> log q = (ln 1/2, ln 1/2)
    teacher = torch.tensor([[0.0, math.log(3.0)]])
    student = torch.tensor([[0.0, 0.0]])
    assert soft_cross_entropy(student, teacher).item() == pytest.approx(math.log(2.0), rel=1e-6)
    # temperature 2: p = softmax(0, ln3 / 2) = (1, sqrt 3) / (1 + sqrt 3); q uniform; times tau^2 = 4
    assert soft_cross_entropy(student, teacher, temperature=2.0).item() == pytest.approx(4 * math.log(2.0), rel=1e-6)


def test_soft_cross_entropy_is_entropy_at_the_teacher_and_has_gradient_only_for_student():
    teacher = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]])
    student = teacher.clone().requires_grad_(True)
    p = torch.softmax(teacher, -1)
    entropy = -(p * p.log()).sum(-1).mean()
    loss = soft_cross_entropy(student, teacher)
    assert loss.item() == pytest.approx(entropy.item(), rel=1e-6)
    loss.backward()
    assert student.grad.abs().max().item() < 1e-6  # minimum at the teacher's logits


def test_regression_mse_by_hand():
    assert regression_mse(torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [0.0]])).item() == pytest.approx(5.0)


def test_layer_map_uniform():
    assert layer_map(12, 12) == list(range(13))
    assert layer_map(6, 12) == [0, 2, 4, 6, 8, 10, 12]
    assert layer_map(4, 6) == [0, 1, 3, 4, 6]
    with pytest.raises(OttersError):
        layer_map(0, 12)


def test_masked_mse_ignores_padding():
    s = torch.tensor([[[1.0, 1.0], [5.0, 5.0]]])  # second token is padding
    t = torch.tensor([[[0.0, 3.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 0]])
    # real token: ((1-0)^2 + (1-3)^2) / 2 = 2.5
    assert masked_mse(s, t, mask).item() == pytest.approx(2.5)
    assert masked_mse(s, t).item() == pytest.approx((1 + 4 + 25 + 25) / 4)


def test_hidden_state_loss_uses_the_layer_map():
    # student: embedding + 2 layers; teacher: embedding + 4 layers -> pairs (0,0), (1,2), (2,4)
    student = [torch.full((1, 1, 1), float(v)) for v in (0.0, 1.0, 2.0)]
    teacher = [torch.full((1, 1, 1), float(v)) for v in (0.0, 10.0, 3.0, 10.0, 4.0)]
    assert hidden_state_loss(student, teacher).item() == pytest.approx(0 + 4 + 4)


def test_attention_loss_masks_pairs_with_padding():
    s = torch.zeros(1, 1, 2, 2)
    t = torch.tensor([[[[2.0, -1e4], [-1e4, -1e4]]]])
    mask = torch.tensor([[1, 0]])
    assert attention_loss([s], [t], mask).item() == pytest.approx(4.0)


def test_distillation_loss_combines_terms():
    logits_s, logits_t = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, math.log(3.0)]])
    hid_s = [torch.ones(1, 1, 2), torch.zeros(1, 1, 2)]
    hid_t = [torch.zeros(1, 1, 2), torch.zeros(1, 1, 2)]
    student = {"logits": logits_s, "hidden_states": hid_s}
    teacher = {"logits": logits_t, "hidden_states": hid_t}
    total, parts = distillation_loss(student, teacher, weights=DistillWeights(hidden=2.0))
    assert parts["pred"] == pytest.approx(math.log(2.0), rel=1e-6)
    assert parts["hidden"] == pytest.approx(1.0)
    assert total.item() == pytest.approx(math.log(2.0) + 2.0, rel=1e-6)
    total_r, parts_r = distillation_loss({"logits": torch.tensor([[1.0]]), "hidden_states": hid_s},
                                         {"logits": torch.tensor([[3.0]]), "hidden_states": hid_t},
                                         regression=True, weights=DistillWeights(hidden=0.0))
    assert parts_r == {"pred": pytest.approx(4.0)} and total_r.item() == pytest.approx(4.0)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(OttersError, match="differ"):
        soft_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(OttersError, match="hidden width"):
        masked_mse(torch.zeros(1, 2, 4), torch.zeros(1, 2, 8))
