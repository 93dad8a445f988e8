"""Stage plans of the staged distillation and the weight transfer between stages."""

import pytest
import torch

from otters.distill.plan import stage_plan, transfer_weights
from otters.errors import OttersError
from otters.models import build_student
from otters.quant import LSQQuantizer


def test_staged_plan_follows_sorbet_then_binary_kv():
    plan = stage_plan("otters-1bitkv")
    assert [name for name, _ in plan] == ["w1a4", "ptsoftmax", "bspn", "kv1"]
    assert plan[0][1] == {"softmax": "softmax", "norm": "layernorm", "kv_bits": 4}
    assert plan[1][1] == {"norm": "layernorm", "kv_bits": 4}
    assert plan[2][1] == {"kv_bits": 4}
    assert plan[3][1] == {}
    assert [name for name, _ in stage_plan("sorbet")] == ["w1a4", "ptsoftmax", "bspn"]
    assert stage_plan("qnn-w1a4") == [("w1a4", {})]
    assert stage_plan("bert-fp") == [("fp", {})]


def test_single_and_custom_plans():
    assert stage_plan("otters-1bitkv", "single") == [("kv1", {})]
    # bspn stage introduces PTsoftmax and BSPN together
    assert stage_plan("otters-1bitkv", "w1a4,bspn,kv1") == [
        ("w1a4", {"softmax": "softmax", "norm": "layernorm", "kv_bits": 4}), ("bspn", {"kv_bits": 4}), ("kv1", {})]
    with pytest.raises(OttersError, match="do not lead"):
        stage_plan("otters-1bitkv", "w1a4,bspn")  # never binarises K/V
    with pytest.raises(OttersError, match="do not lead"):
        stage_plan("sorbet", "w1a4,kv1")  # sorbet has 4-bit K/V
    with pytest.raises(OttersError, match="order"):
        stage_plan("otters-1bitkv", "kv1,w1a4")
    with pytest.raises(OttersError, match="unknown stage"):
        stage_plan("otters-1bitkv", "w1a4,fp16")


def test_transfer_keeps_trained_steps_and_recalibrates_binary_kv():
    torch.manual_seed(0)
    before = build_student("otters-1bitkv", "tiny", kv_bits=4)
    x = torch.randint(0, 128, (2, 7))
    before.train()
    before(x)  # initialises every LSQ step
    after = build_student("otters-1bitkv", "tiny")
    report = transfer_weights(before, after)
    quants = dict(after.named_modules())
    k_quant = quants["bert.layers.0.attn.k_quant"]
    assert isinstance(k_quant, LSQQuantizer) and k_quant.bits == 1 and not bool(k_quant.initialized)
    q_quant = quants["bert.layers.0.attn.q_quant"]
    assert bool(q_quant.initialized) and torch.equal(q_quant.alpha, dict(before.named_modules())["bert.layers.0.attn.q_quant"].alpha)
    assert torch.equal(after.bert.layers[1].ffn1.weight, before.bert.layers[1].ffn1.weight)
    assert "bert.layers.0.attn.k_quant.alpha" in report["kept"]
