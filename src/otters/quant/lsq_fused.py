"""The LSQ training step as two fused kernels (``torch.compile``): one pass forward, one backward.

Eager autograd runs the fake quantiser y = alpha * round_half_up(clamp(x / alpha, qmin, qmax)) as
about a dozen elementwise passes over the activation (divide, clamp, add, floor, multiply forward;
their chain-rule products backward), and a student step runs it at every quantised activation. Here
the forward is the same expression compiled into one kernel, and the backward is LSQ's gradient
written out (Esser et al., ICLR 2020, eq. 3-5) and compiled into another:

    r = x / alpha,  inside = qmin <= r <= qmax,  level = round_half_up(clamp(r, qmin, qmax))
    dL/dx     = dL/dy * inside
    dL/dalpha = g * sum(dL/dy * (level - r * inside))        (g = 1 / sqrt(numel * Qp))

(sign mode: level = +1 if r >= 0 else -1, clamped to [-1, 1]). The forward value is bit-identical to
the eager quantiser (the same operations in the same order; ``tests/test_quant_fused.py`` checks it on
every level range). The gradients equal eager autograd's up to float rounding: eager computes dL/dx
as (dL/dy * alpha) / alpha, here it is dL/dy itself, so a run with fused quantisers is reproducible
and resumable but not bit-identical to one without; ``DistillSettings.fused_quantizers`` records
which. Why compiled and not hand-written: only a generated kernel fuses the passes on CPU and GPU
alike; it needs a C++ compiler on CPU (inductor), which the command checks before training.
"""

from __future__ import annotations

import shutil

import torch

from otters.errors import OttersError

_KERNELS: dict[str, object] = {}


# One function per level rule (distinct code objects) and the level bounds as 0-dim tensors: the
# compiled kernels then depend on neither, and never recompile for another bit width.
def _forward_round(x, alpha, qmin, qmax):
    return torch.floor(torch.clamp(x / alpha, qmin, qmax) + 0.5) * alpha


def _forward_sign(x, alpha, qmin, qmax):
    return torch.where(torch.clamp(x / alpha, qmin, qmax) >= 0, 1.0, -1.0).to(x.dtype) * alpha


def _backward_round(grad, x, alpha, qmin, qmax):
    ratio = x / alpha
    inside = (ratio >= qmin) & (ratio <= qmax)
    level = torch.floor(torch.clamp(ratio, qmin, qmax) + 0.5)
    return torch.where(inside, grad, 0.0), (grad * torch.where(inside, level - ratio, level)).sum()


def _backward_sign(grad, x, alpha, qmin, qmax):
    ratio = x / alpha
    inside = (ratio >= qmin) & (ratio <= qmax)
    level = torch.where(torch.clamp(ratio, qmin, qmax) >= 0, 1.0, -1.0).to(x.dtype)
    return torch.where(inside, grad, 0.0), (grad * torch.where(inside, level - ratio, level)).sum()


def _kernel(function):
    if function.__name__ not in _KERNELS:
        # Dynamo keys its guards also on the thread count and on the layout of the tensor a view comes
        # from, so a training run meets a handful of variants per kernel (more than dynamo's default
        # limit of 8 across a test session); a kernel that hit the limit would fail (fullgraph), not
        # silently fall back to eager arithmetic with another reduction order.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        _KERNELS[function.__name__] = torch.compile(function, dynamic=True, fullgraph=True)
    return _KERNELS[function.__name__]


def check_fused_available(device: str) -> None:
    """Refuse fused quantisers where inductor cannot build kernels (no C++ compiler for CPU)."""
    on_cpu = device.startswith("cpu") or (device == "auto" and not torch.cuda.is_available())
    if on_cpu and shutil.which("g++") is None and shutil.which("c++") is None:
        raise OttersError("--fused-quantizers compiles kernels with a C++ compiler and none is on PATH; "
                          "install g++ or drop --fused-quantizers")


class FusedLSQ(torch.autograd.Function):
    """y = alpha * level(x / alpha) forward (bit-identical to eager), LSQ's gradient backward."""

    # The kernels see flat, contiguous, detached tensors, so that one compiled kernel serves every
    # activation shape, layout and rank (each of those would otherwise be a recompile).
    @staticmethod
    def forward(ctx, x, alpha, qmin: int, qmax: int, sign_mode: bool, grad_factor: float):
        flat = x.detach().reshape(-1)
        bounds = tuple(torch.tensor(float(b), dtype=x.dtype, device=x.device) for b in (qmin, qmax))
        ctx.save_for_backward(flat, alpha, *bounds)
        ctx.shape, ctx.sign_mode, ctx.grad_factor = x.shape, sign_mode, grad_factor
        kernel = _kernel(_forward_sign if sign_mode else _forward_round)
        return kernel(flat, alpha.detach().to(x.dtype), *bounds).view(x.shape)

    @staticmethod
    def backward(ctx, grad_output):
        flat, alpha, qmin, qmax = ctx.saved_tensors
        kernel = _kernel(_backward_sign if ctx.sign_mode else _backward_round)
        grad_x, grad_alpha = kernel(grad_output.detach().reshape(-1), flat, alpha.detach().to(flat.dtype), qmin, qmax)
        grad_alpha = (grad_alpha * ctx.grad_factor).to(alpha.dtype)
        return grad_x.view(ctx.shape), grad_alpha, None, None, None, None
