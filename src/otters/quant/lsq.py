"""Learned-step-size activation quantizer (LSQ, Esser et al. ICLR 2020) as Sorbet uses it.

levels(x) = clamp(round_half_up(x / alpha), qmin, qmax); value = alpha * levels(x).
signed n-bit: [-2^(n-1), 2^(n-1) - 1]; unsigned n-bit: [0, 2^n - 1]; 1-bit signed is the sign mode
sign(x) * alpha with levels {-1, +1} (x >= 0 -> +1), which Otters uses for binary K and V.
The step alpha is initialised on the first batch seen (LSQ: 2 mean|x| / sqrt(Qp); Sorbet rounds it
to a power of two) and then learned with the gradient scaled by 1 / sqrt(numel * Qp).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from otters.errors import OttersError
from otters.quant.lsq_fused import FusedLSQ
from otters.quant.rounding import round_half_up, round_half_up_ste, sign_ste


class _ScaleGrad(torch.autograd.Function):
    """Identity forward (bit-exact), gradient multiplied by ``factor`` backward."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.factor, None


def quant_range(bits: int, signed: bool) -> tuple[int, int]:
    """(qmin, qmax): signed [-2^(n-1), 2^(n-1)-1], unsigned [0, 2^n-1]; 1-bit signed -> (-1, +1).

    Source: Sorbet (ICML 2025) activation quantizers; the 1-bit signed sign mode is Otters' binary KV.
    """
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 8:
        raise OttersError(f"activation bits must be an integer in 1..8, got {bits!r}")
    if signed:
        return (-1, 1) if bits == 1 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return 0, 2**bits - 1


class LSQQuantizer(nn.Module):
    """Learned-step activation quantizer: forward(x) = alpha * levels(x).

    Training: LSQ fake quantisation, d/dx = 1 inside [qmin, qmax]*alpha and 0 outside; d/dalpha =
    (levels - x/alpha) inside, the clamp bound outside, scaled by g = 1/sqrt(numel * Qp)
    (Esser et al. 2020, eq. 3-5). Eval: the same value computed as ``alpha * levels(x)``.
    alpha is initialised from the first batch that passes through (training or eval calibration):
    2 mean|x| / sqrt(Qp) (mean|x| in sign mode, the L2-optimal binary scale), rounded to the nearest
    power of two in log2 when ``pow2_init`` (Sorbet).
    """

    def __init__(self, bits: int, signed: bool, pow2_init: bool = False):
        super().__init__()
        self.bits = int(bits)
        self.signed = bool(signed)
        self.pow2_init = bool(pow2_init)
        self.qmin, self.qmax = quant_range(self.bits, self.signed)
        self.alpha = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("initialized", torch.tensor(False))
        self.fused = False  # training step through otters.quant.lsq_fused (set_fused_quantizers)

    @property
    def sign_mode(self) -> bool:
        """True for the 1-bit signed mode sign(x) * alpha (levels {-1, +1}, no zero level)."""
        return self.bits == 1 and self.signed

    @property
    def qp(self) -> int:
        """Qp of LSQ: the largest positive level (1 in sign mode)."""
        return self.qmax

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed={self.signed}, range=[{self.qmin}, {self.qmax}], pow2_init={self.pow2_init}"

    @torch.no_grad()
    def initialize_from(self, x: torch.Tensor) -> None:
        """Set alpha from a batch: 2 mean|x| / sqrt(Qp) (sign mode: mean|x|), optionally 2^round(log2)."""
        mean_abs = float(x.detach().abs().float().mean())
        if not math.isfinite(mean_abs):
            raise OttersError("LSQ initialisation saw non-finite activations; check the input data")
        alpha = mean_abs if self.sign_mode else 2.0 * mean_abs / math.sqrt(self.qp)
        if alpha <= 0.0:
            alpha = 1.0  # an all-zero batch: any step reproduces it; keep a usable default
        if self.pow2_init:
            alpha = 2.0 ** float(round_half_up(math.log2(alpha)))
        self.alpha.fill_(alpha)
        self.initialized.fill_(True)

    def _prepare(self, x: torch.Tensor) -> None:
        if not bool(self.initialized):
            self.initialize_from(x)
        if self.training and float(self.alpha.detach()) <= 1e-8:
            with torch.no_grad():  # keep the step positive; LSQ updates can overshoot through zero
                self.alpha.clamp_(min=1e-8)

    def levels(self, x: torch.Tensor) -> torch.Tensor:
        """Integer levels (int64): clamp(round_half_up(x / alpha), qmin, qmax); sign mode: +1 if x >= 0 else -1.

        Source: project contract (quant); LSQ / Sorbet quantizer with the half-up rounding rule.
        """
        self._prepare(x)
        alpha = self.alpha.detach()
        if self.sign_mode:
            return torch.where(x >= 0, 1, -1).to(torch.int64)
        q = torch.clamp(round_half_up(x / alpha), self.qmin, self.qmax)
        return q.to(torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._prepare(x)
        if not self.training:
            return self.levels(x).to(x.dtype) * self.alpha.to(x.dtype)
        grad_factor = 1.0 / math.sqrt(x.numel() * self.qp)
        if self.fused:
            return FusedLSQ.apply(x, self.alpha, self.qmin, self.qmax, self.sign_mode, grad_factor)
        alpha = _ScaleGrad.apply(self.alpha, grad_factor).to(x.dtype)
        ratio = torch.clamp(x / alpha, self.qmin, self.qmax)
        level = sign_ste(ratio) if self.sign_mode else round_half_up_ste(ratio)
        return level * alpha


def set_fused_quantizers(model: nn.Module, fused: bool) -> int:
    """Route every LSQ quantizer's training step through the fused kernels (or back); returns how many.

    The forward value is unchanged bit for bit; see :mod:`otters.quant.lsq_fused` for the gradient.
    """
    quantizers = [m for m in model.modules() if isinstance(m, LSQQuantizer)]
    for quantizer in quantizers:
        quantizer.fused = bool(fused)
    return len(quantizers)
