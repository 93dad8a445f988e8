"""The project's single rounding rule and the straight-through estimators built on it.

Every place that turns a real number into an integer level uses ``round_half_up`` (floor(x + 1/2)),
because that is what a TTFS neuron with an alpha/2 initial potential computes: it fires at the first
step whose integer threshold floor(V/alpha + 1/2) reaches. ``torch.round`` rounds half to even and
would disagree with the spiking network on exact halves, so it is never used for levels.
"""

from __future__ import annotations

import numpy as np
import torch


def round_half_up(x):
    """round_half_up(x) = floor(x + 0.5), elementwise (torch tensor or numpy array / scalar).

    Source: the exactness design of the project contract (the alpha/2 shift of Proposition 1,
    Otters ICLR 2026, turns the neuron's floor into this rounding).
    """
    if isinstance(x, torch.Tensor):
        return torch.floor(x + 0.5)
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


class _RoundHalfUpSTE(torch.autograd.Function):
    """Forward floor(x + 1/2) exactly; backward identity (straight-through, Bengio et al. 2013)."""

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class _SignSTE(torch.autograd.Function):
    """Forward sign(x) with sign(0) := +1; backward identity (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def round_half_up_ste(x: torch.Tensor) -> torch.Tensor:
    """floor(x + 1/2) in the forward pass, d/dx := 1 in the backward pass (straight-through).

    A custom autograd function (not ``x + (r - x).detach()``) so the forward value is bit-exactly
    the rounded integer: ``x + (r - x)`` can differ from ``r`` by one float ulp.
    """
    return _RoundHalfUpSTE.apply(x)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """sign(x) in {-1, +1} (sign(0) := +1) forward, identity gradient backward (straight-through)."""
    return _SignSTE.apply(x)


def hard_sign(x: torch.Tensor) -> torch.Tensor:
    """sign(x) in {-1, +1} with sign(0) := +1, no gradient (the levels of the 1-bit mode).

    Scalar branches of ``torch.where``: one pass over x, no ones_like / neg temporaries (these ran on
    every binarised weight at every training step).
    """
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
