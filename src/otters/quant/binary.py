"""1-bit weights: W_b = sign(W - mean W) * mean|W| with a straight-through gradient.

Source: Sorbet (ICML 2025) section "binarised weights", itself BiT / BinaryBERT's BWN quantizer:
one scale per matrix, one per row for the word embedding table. sign(0) := +1 so that every code is
exactly +-1 (a binary synapse has no zero state).
"""

from __future__ import annotations

import torch

from otters.errors import OttersError
from otters.quant.rounding import hard_sign


def _centre_and_scale(weight: torch.Tensor, per_row: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean W, mean|W|) per matrix (0-dim tensors) or per row (shape (rows, 1))."""
    if per_row:
        if weight.dim() != 2:
            raise OttersError(f"per-row binarisation needs a 2-D weight, got shape {tuple(weight.shape)}")
        return weight.mean(dim=1, keepdim=True), weight.abs().mean(dim=1, keepdim=True)
    return weight.mean(), weight.abs().mean()


def binary_weight_codes(weight: torch.Tensor, per_row: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer codes and scale of the binarised weight: codes = sign(W - mean W) in {-1, +1} (int8),
    scale = mean|W| (float32; 0-dim per matrix, shape (rows, 1) per row), so that
    ``binarize_weight(W, per_row) == codes * scale`` bit for bit.

    Source: Sorbet (ICML 2025) / BiT weight binarisation, W_b = sign(W - mean W) * mean|W|.
    """
    w = weight.detach().float()
    centre, scale = _centre_and_scale(w, per_row)
    codes = hard_sign(w - centre).to(torch.int8)
    return codes, scale.to(torch.float32)


class _BinarizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, per_row):
        # +-scale selected directly: bit-identical to codes.float() * scale (a product by +-1 is exact),
        # without the int8 codes and the two conversions (three fewer passes over W at every step).
        w = weight.detach().float()
        centre, scale = _centre_and_scale(w, per_row)
        return torch.where(w - centre >= 0, scale, -scale)

    @staticmethod
    def backward(ctx, grad_output):
        # Straight-through: the latent full-precision weight receives the gradient unchanged.
        return grad_output, None


def binarize_weight(weight: torch.Tensor, per_row: bool = False) -> torch.Tensor:
    """W_b = sign(W - mean W) * mean|W| (per matrix, or per row for embeddings); dW_b/dW := I.

    Source: Sorbet (ICML 2025) / BiT (NeurIPS 2022) weight binarisation with a straight-through
    gradient. The forward value equals ``codes.float() * scale`` of :func:`binary_weight_codes`
    exactly (same expression), which is what the integer inference path relies on.
    """
    return _BinarizeSTE.apply(weight, per_row)
