"""Sorbet's shift-only replacements of softmax and LayerNorm, with straight-through gradients.

PTsoftmax and BSPN (Sorbet, ICML 2025, section 3) run in the digital domain between spiking windows.
The public Sorbet code rounds with ceil()/round() and so passes zero gradient; here every rounding
is a custom autograd function whose forward value is exact and whose backward is the identity.
"""

from __future__ import annotations

import torch
from torch import nn

from otters.errors import OttersError
from otters.quant import round_half_up
from otters.quant.rounding import straight_through

# exp2 terms below 2^-14 are flushed to zero: the remaining terms are multiples of 2^-14 and at
# most 1, so their float32 sum is exact (order-independent) for up to 1024 keys.
PT_SOFTMAX_MIN_EXPONENT = -14.0


def ceil_ste(x: torch.Tensor) -> torch.Tensor:
    """ceil(x) forward, identity gradient (straight-through)."""
    return straight_through(torch.ceil, x)


def pow2_round(x: torch.Tensor) -> torch.Tensor:
    """Nearest signed power of two in the log domain: sign(x) * 2^round_half_up(log2|x|); 0 -> 0.

    Source: Sorbet (ICML 2025) BSPN / PTsoftmax, "rounded to a (signed) power of two".
    """
    return torch.sign(x) * torch.exp2(round_half_up(torch.log2(x.abs())))


def pow2_round_ste(x: torch.Tensor) -> torch.Tensor:
    """:func:`pow2_round` forward, identity gradient (straight-through)."""
    return straight_through(pow2_round, x)


def _pow2_ceil(x: torch.Tensor) -> torch.Tensor:
    return torch.exp2(torch.ceil(torch.log2(x)))


def pow2_ceil_ste(x: torch.Tensor) -> torch.Tensor:
    """2^ceil(log2 x) for x > 0 forward, identity gradient (BSPN's bit-shift divisor)."""
    return straight_through(_pow2_ceil, x)


def pt_softmax(scores: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Power-of-two softmax over the last dim: s = ceil(scores), e = 2^(s - max s), P = e / 2^round(log2 sum e).

    Terms with s - max s < -14 are flushed to 0 (exact, order-free sums; see the module constant),
    masked keys (key_mask False) get e = 0 exactly, so padding never changes real tokens.
    Straight-through gradients for ceil and the power-of-two rounding of the sum.
    Source: Sorbet (ICML 2025), PTsoftmax.
    """
    s = ceil_ste(scores)
    if key_mask is not None:
        s = s.masked_fill(~key_mask, torch.finfo(s.dtype).min)
    exponent = s - s.max(dim=-1, keepdim=True).values.detach()
    e = torch.where(exponent >= PT_SOFTMAX_MIN_EXPONENT, torch.exp2(exponent.clamp_min(PT_SOFTMAX_MIN_EXPONENT)), 0.0)
    total = e.sum(dim=-1, keepdim=True)
    return e / pow2_round_ste(total)


class BSPN(nn.Module):
    """Bit-shifting power norm (replaces every encoder LayerNorm).

    Per token and channel group g: x_g <- x_g / 2^ceil(log2 mean|x_g|) (a shift); then PowerNorm
    x <- x / sqrt(psi + eps) with psi the per-channel quadratic mean E[x^2] (batch statistics, masked
    to real tokens, during the first ``warmup`` training steps; the running EMA psi <- 0.9 psi + 0.1
    E[x^2] afterwards and in eval); then y = pow2(gamma) * x + beta; finally every output rounded to
    a signed power of two. Straight-through gradients for all roundings.
    Source: Sorbet (ICML 2025), BSPN; PowerNorm (Shen et al., ICML 2020).
    """

    def __init__(self, hidden_size: int, groups: int, eps: float = 1e-5, momentum: float = 0.1, warmup: int = 1000):
        super().__init__()
        if hidden_size % groups:
            raise OttersError(f"BSPN groups ({groups}) must divide the hidden size ({hidden_size})")
        self.hidden_size, self.groups, self.eps = hidden_size, groups, eps
        self.momentum, self.warmup = momentum, warmup
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.register_buffer("running_quad", torch.ones(hidden_size))
        self.register_buffer("steps", torch.tensor(0, dtype=torch.int64))

    def extra_repr(self) -> str:
        return f"{self.hidden_size}, groups={self.groups}, eps={self.eps}, warmup={self.warmup}"

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
        shape = x.shape
        grouped = x.reshape(*shape[:-1], self.groups, shape[-1] // self.groups)
        mean_abs = grouped.abs().mean(dim=-1, keepdim=True).clamp_min(2.0**-30)
        x = (grouped / pow2_ceil_ste(mean_abs)).reshape(shape)
        if self.training:
            flat = x.reshape(-1, shape[-1])
            if token_mask is not None:
                flat = flat[token_mask.reshape(-1).bool()]
            batch_quad = (flat * flat).mean(dim=0)
            with torch.no_grad():
                self.running_quad.mul_(1.0 - self.momentum).add_(self.momentum * batch_quad.detach())
                self.steps.add_(1)
            quad = batch_quad if int(self.steps) <= self.warmup else self.running_quad
        else:
            quad = self.running_quad
        x = x / torch.sqrt(quad + self.eps)
        return pow2_round_ste(x * pow2_round_ste(self.weight) + self.bias)
