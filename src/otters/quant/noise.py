"""Hardware-aware training noise (Otters, ICLR 2026, HAT1 = 10 %, HAT2 = 20 %).

The optoelectronic synapse's output deviates from the nominal decay curve in proportion to its
magnitude, so the QNN is trained with a zero-mean Gaussian perturbation scaled by |x|.
"""

from __future__ import annotations

import torch
from torch import nn

from otters.errors import OttersError


class GaussianActivationNoise(nn.Module):
    """x + rel_std * |x| * N(0, 1) in training mode; identity in eval mode.

    The noise term is detached (a perturbation of the forward value, gradient of the identity), and
    drawn from ``generator`` when one is given (reproducible runs). Source: Otters (ICLR 2026),
    hardware-aware training, zero-mean Gaussian noise scaled by activation magnitude.
    """

    def __init__(self, rel_std: float = 0.0, generator: torch.Generator | None = None):
        super().__init__()
        rel_std = float(rel_std)
        if not rel_std >= 0.0:
            raise OttersError(f"noise rel_std must be >= 0 (e.g. 0.1 for HAT1), got {rel_std}")
        self.rel_std = rel_std
        self.generator = generator

    def extra_repr(self) -> str:
        return f"rel_std={self.rel_std}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rel_std == 0.0:
            return x
        eps = torch.randn(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        return x + (self.rel_std * x.detach().abs() * eps)
