"""The shared digital arithmetic of the QNN and the SNN: integer accumulator -> potential.

Both the QNN's inference forward and the SNN (after it has integrated its integer accumulator from
spike events) call these functions, so the potentials they produce are the same floats bit for bit.
float32 matmul of integer-valued operands is exact while every partial sum stays below 2^24 in
magnitude; :func:`exact_accumulate` checks a bound that guarantees it.
"""

from __future__ import annotations

import torch

from otters.errors import OttersError

FLOAT32_EXACT_INT = 2**24  # every integer of magnitude <= 2^24 is a float32


def _as_float_levels(levels: torch.Tensor, what: str) -> torch.Tensor:
    if levels.dtype.is_floating_point:
        if not torch.equal(levels, torch.floor(levels)):
            raise OttersError(f"{what} must hold integer levels, got non-integer floats")
    elif levels.dtype == torch.bool or levels.is_complex():
        raise OttersError(f"{what} must be an integer tensor, got {levels.dtype}")
    return levels.to(torch.float32)


def exact_accumulate(levels_in: torch.Tensor, weight_levels: torch.Tensor) -> torch.Tensor:
    """acc = levels_in @ weight_levels^T (last two dims), computed exactly in float32.

    levels_in: (..., in) integers; weight_levels: (out, in) or batched (..., out, in) integers.
    Raises OttersError if max_row sum|levels_in| * max|weight| could reach 2^24 (float32 exactness).
    Source: project exactness design (integer accumulator of Proposition 1, Otters ICLR 2026).
    """
    a = _as_float_levels(levels_in, "levels_in")
    w = _as_float_levels(weight_levels, "weight levels")
    if a.numel() and w.numel():
        bound = float(a.abs().sum(dim=-1).max()) * float(w.abs().max())
        if bound >= FLOAT32_EXACT_INT:
            raise OttersError(
                f"integer accumulator bound {bound:.0f} reaches 2^24: float32 would round it; "
                "use fewer input features or smaller levels"
            )
    return a @ w.transpose(-1, -2)


def potential_from_accumulator(acc, weight_scale, alpha_in, bias=None) -> torch.Tensor:
    """V = acc * (weight_scale * alpha_in) + bias, in float32, in exactly this order.

    Source: Proposition 1 (Otters, ICLR 2026): gamma = w * alpha_in * T with the T folded into the
    integer accumulator; the bias is the neuron's initial potential.
    """
    scale = torch.as_tensor(weight_scale, dtype=torch.float32) * torch.as_tensor(alpha_in, dtype=torch.float32)
    potential = acc.to(torch.float32) * scale.to(acc.device)
    if bias is not None:
        potential = potential + torch.as_tensor(bias, dtype=torch.float32).to(acc.device)
    return potential


def linear_from_levels(levels_in, weight_codes, weight_scale, alpha_in, bias=None) -> torch.Tensor:
    """Quantized linear layer on integer levels: potential_from_accumulator(levels_in @ codes^T, ...).

    Equals F.linear(alpha_in * levels_in, weight_scale * codes, bias) up to float rounding, but is
    computed as exact integer accumulation followed by one shared affine map, so that an SNN which
    reproduces the integer accumulator reproduces this output bit for bit (Otters, Proposition 1).
    """
    return potential_from_accumulator(exact_accumulate(levels_in, weight_codes), weight_scale, alpha_in, bias)
