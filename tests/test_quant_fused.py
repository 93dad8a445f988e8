"""The compiled LSQ kernels (otters.quant.lsq_fused): forward bit-identical to the eager quantizer, LSQ's
gradient, and a fused distillation that resumes after a kill to the same bits.

Compiling takes tens of seconds the first time in a process (inductor caches kernels on disk after).
"""

import json

import pytest
import torch

from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.errors import OttersError
from otters.io import load_tensors
from otters.quant.lsq import LSQQuantizer, set_fused_quantizers
from otters.quant.lsq_fused import check_fused_available
from otters.train import loop
from tiny_task import make_tiny_task

pytestmark = pytest.mark.slow
torch.set_num_threads(1)


def _pair(bits, signed, x):
    eager = LSQQuantizer(bits, signed)
    eager.train()
    eager(x)  # the step is initialised on the first batch
    fused = LSQQuantizer(bits, signed)
    fused.load_state_dict(eager.state_dict())
    fused.train()
    assert set_fused_quantizers(fused, True) == 1
    return eager, fused


@pytest.mark.parametrize("bits,signed", [(4, True), (4, False), (1, True), (2, True), (8, False)])
def test_fused_forward_is_bit_identical_and_the_gradient_is_lsqs(bits, signed):
    torch.manual_seed(bits)
    # every level range is crossed, exact halves included (x / alpha = k + 1/2 must round up in both)
    x = torch.randn(4, 21, 40) * 6
    eager, fused = _pair(bits, signed, x)
    alpha = float(eager.alpha.detach())
    x[0, 0, :8] = torch.arange(-4, 4) * alpha + alpha / 2
    grad = torch.randn_like(x)
    xe, xf = x.clone().requires_grad_(), x.clone().requires_grad_()
    ye, yf = eager(xe), fused(xf)
    assert torch.equal(ye, yf)
    (ye * grad).sum().backward()
    (yf * grad).sum().backward()
    ratio = x / alpha
    inside = (ratio >= eager.qmin) & (ratio <= eager.qmax)
    assert torch.equal(xf.grad, torch.where(inside, grad, 0.0))  # straight through inside, zero outside
    torch.testing.assert_close(xf.grad, xe.grad, rtol=0, atol=1e-6)
    torch.testing.assert_close(fused.alpha.grad, eager.alpha.grad, rtol=1e-4, atol=1e-7)


def test_eval_mode_never_takes_the_fused_path():
    x = torch.randn(3, 5, 8)
    eager, fused = _pair(4, True, x)
    eager.eval()
    fused.eval()
    assert torch.equal(eager(x), fused(x))


def test_fused_distillation_resumes_to_the_same_bits(tmp_path, monkeypatch):
    (tmp_path / "tiny").mkdir()
    tiny = make_tiny_task(tmp_path / "tiny")

    def run(out, **kw):
        settings = DistillSettings("sst2", "otters-1bitkv", stages="kv1", epochs=1, max_steps=4, batch_size=16,
                                   eval_every=2, lr=1e-3, max_len=16, fused_quantizers=True)
        return distill(settings, tiny["teacher"], out_dir=out, data_dir=tiny["glue"], progress=False,
                       log=lambda m: None, **kw)

    ref = run(tmp_path / "ref")
    assert json.loads((ref / "distill.json").read_text())["settings"]["fused_quantizers"] is True
    calls = {"n": 0}
    original = loop.Trainer._train_step

    def dying_step(self, wrapped, indices):
        calls["n"] += 1
        if calls["n"] == 3:  # after the step-2 checkpoint
            raise KeyboardInterrupt
        return original(self, wrapped, indices)

    monkeypatch.setattr(loop.Trainer, "_train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "run")
    monkeypatch.setattr(loop.Trainer, "_train_step", original)
    resumed = run(tmp_path / "run", resume=True)
    a, b = load_tensors(ref / "student.safetensors"), load_tensors(resumed / "student.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_no_compiler_is_one_clear_refusal(monkeypatch):
    monkeypatch.setattr("otters.quant.lsq_fused.shutil.which", lambda name: None)
    with pytest.raises(OttersError, match="C\\+\\+ compiler"):
        check_fused_available("cpu")
    check_fused_available("cuda")  # inductor builds GPU kernels with Triton, not a host compiler
