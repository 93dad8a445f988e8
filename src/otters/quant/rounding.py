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


class _StraightThrough(torch.autograd.Function):
    """Forward fn(x, *args) exactly; backward identity for x, no gradient for the other arguments
    (straight-through, Bengio et al. 2013)."""

    @staticmethod
    def forward(ctx, x, fn, *args):
        ctx.n_extra = len(args)
        return fn(x, *args)

    @staticmethod
    def backward(ctx, grad_output):
        return (grad_output, None) + (None,) * ctx.n_extra


def straight_through(fn, x: torch.Tensor, *args) -> torch.Tensor:
    """fn(x, *args) in the forward pass, d/dx := 1 in the backward pass (straight-through estimator).

    A custom autograd function (not ``x + (fn(x) - x).detach()``), so the forward value is bit for bit
    fn(x): ``x + (r - x)`` can differ from ``r`` by one float ulp. ``fn`` runs without autograd.
    """
    return _StraightThrough.apply(x, fn, *args)


def round_half_up_ste(x: torch.Tensor) -> torch.Tensor:
    """floor(x + 1/2) in the forward pass, d/dx := 1 in the backward pass (straight-through).

    Bit-exactly the rounded integer (see :func:`straight_through`).
    """
    return straight_through(round_half_up, x)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """sign(x) in {-1, +1} (sign(0) := +1) forward, identity gradient backward (straight-through)."""
    return straight_through(hard_sign, x)


def hard_sign(x: torch.Tensor) -> torch.Tensor:
    """sign(x) in {-1, +1} with sign(0) := +1, no gradient (the levels of the 1-bit mode).

    Scalar branches of ``torch.where``: one pass over x, no ones_like / neg temporaries (these ran on
    every binarised weight at every training step).
    """
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
