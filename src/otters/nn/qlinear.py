"""1-bit linear layer and 1-bit embedding table whose inference path is exact integer arithmetic.

A ``QuantLinear`` owns only its weight and bias; the quantizer of its input belongs to the block
that calls it (several linears may share one input encoding, as Q, K and V do). Two forwards:

* ``forward(x_q)``: training / fake-quant path, F.linear(x_q, W_b, b) with W_b = binarize_weight(W)
  (straight-through gradient);
* ``integer_forward(levels, alpha_in)``: inference path, V = (levels @ codes^T) * (scale * alpha_in) + b,
  through :func:`otters.quant.linear_from_levels`, the arithmetic the SNN replays bit for bit.

``accumulator`` (default None = :func:`otters.quant.exact_accumulate`) is the hook through which a
spiking simulator can substitute its own integer accumulation (it must return the same integers).
After :meth:`QuantLinear.freeze` (or loading a packed checkpoint) the layer uses stored codes and
scale instead of binarising its latent weight.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from otters.quant import binarize_weight, binary_weight_codes, exact_accumulate, potential_from_accumulator


class _FrozenBinary:
    """Mixin: optional frozen (codes, scale) buffers that replace the binarised latent weight."""

    per_row: bool

    def _init_frozen(self) -> None:
        self.register_buffer("frozen_codes", None)
        self.register_buffer("frozen_scale", None)

    @property
    def frozen(self) -> bool:
        return self.frozen_codes is not None

    def weight_codes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes int8 in {-1, +1}, float32 scale) with W_b = codes * scale (Sorbet binarisation)."""
        if self.frozen:
            return self.frozen_codes, self.frozen_scale
        return binary_weight_codes(self.weight, per_row=self.per_row)

    def binary_weight(self) -> torch.Tensor:
        """W_b as a float tensor: straight-through binarisation of the latent weight, or frozen codes * scale."""
        if self.frozen:
            return self.frozen_codes.to(torch.float32) * self.frozen_scale
        return binarize_weight(self.weight, per_row=self.per_row)

    @torch.no_grad()
    def freeze(self, codes: torch.Tensor | None = None, scale: torch.Tensor | None = None) -> None:
        """Fix the binary weight: to the given (codes, scale), or to the current binarisation of W."""
        if codes is None:
            codes, scale = binary_weight_codes(self.weight, per_row=self.per_row)
        self.frozen_codes = codes.to(torch.int8).clone()
        self.frozen_scale = scale.to(torch.float32).clone()
        self.weight.copy_(self.frozen_codes.to(torch.float32) * self.frozen_scale)
        self.weight.requires_grad_(False)


class QuantLinear(_FrozenBinary, nn.Module):
    """y = x W^T + b with W binarised (``binary=True``: W_b = sign(W - mean W) mean|W|) or full precision.

    Source: Sorbet (ICML 2025) 1-bit linear layers; inference arithmetic per Otters Proposition 1.
    """

    per_row = False

    def __init__(self, in_features: int, out_features: int, bias: bool = True, binary: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.binary = in_features, out_features, binary
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self._init_frozen()
        self.accumulator = None  # hook: callable(levels_in, weight_codes) -> exact integer accumulator
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, binary={self.binary}, bias={self.bias is not None}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.binary_weight() if self.binary else self.weight
        return F.linear(x, weight, self.bias)

    def integer_forward(self, levels: torch.Tensor, alpha_in: torch.Tensor) -> torch.Tensor:
        """V = (levels @ codes^T) * (scale * alpha_in) + b, exact integer accumulation then one affine map.

        Same as ``otters.quant.linear_from_levels`` (Otters Prop. 1: gamma = w alpha_in T), routed
        through the ``accumulator`` hook so that a spiking simulation can replace the matmul.
        """
        codes, scale = self.weight_codes()
        accumulate = self.accumulator or exact_accumulate
        acc = accumulate(levels, codes)
        bias = None if self.bias is None else self.bias.detach()
        return potential_from_accumulator(acc, scale, alpha_in.detach(), bias)


class QuantEmbedding(_FrozenBinary, nn.Module):
    """Embedding table, binarised per row when ``binary`` (W_b[r] = sign(W[r] - mean W[r]) mean|W[r]|).

    Source: Sorbet (ICML 2025), word embeddings binarised with one scale per row.
    """

    per_row = True

    def __init__(self, num_embeddings: int, embedding_dim: int, binary: bool = True, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.binary = num_embeddings, embedding_dim, binary
        self.padding_idx = padding_idx
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim) * 0.02)
        self._init_frozen()

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, binary={self.binary}"

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """E[ids] with E = W_b (binary) or W; only the rows that ``ids`` use are binarised.

        Per-row binarisation makes row r of W_b a function of W[r] alone, so binarising the gathered
        rows W[unique(ids)] gives the same values as binarising the whole table (30522 rows for BERT)
        and indexing it, at a fraction of the cost; the straight-through gradient still reaches
        exactly the used rows, and the padding row still gets none (F.embedding's padding_idx).
        """
        if not self.binary:
            return F.embedding(ids, self.weight, self.padding_idx)
        used, inverse = torch.unique(ids, return_inverse=True)
        if self.frozen:
            rows = self.frozen_codes[used].to(torch.float32) * self.frozen_scale[used]
        else:
            rows = binarize_weight(self.weight[used], per_row=True)
        pad = None
        if self.padding_idx is not None:
            hit = (used == self.padding_idx).nonzero()
            pad = int(hit[0, 0]) if len(hit) else None
        return F.embedding(inverse, rows, pad)
