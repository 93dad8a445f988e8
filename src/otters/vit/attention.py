"""A2OS2A: accurate addition-only spiking self-attention (Guo et al., CVPR 2025), its
baselines, and the proof that its products need additions only.

Attention core on per-head tensors of shape (T, B, heads, N, d):

* ``seed``   (as the paper's summary describes it): Q, K ternary {-1, 0, 1}; A = SN_relu(Q K^T) (attention weights
  through a ReLU neuron, no softmax, no 1/sqrt(d)); V binary {0, 1}; Y = A V.
* ``paper``  (one reading of the paper's equations): Q binary, K ReLU (>= 0),
  V ternary; Y = Q K^T V, computed as Q (K^T V) (no non-linearity between the two products, so the
  cheaper order is allowed: N d^2 instead of N^2 d operations); the block's neuron gives SN(Y).
* ``binary`` (Spikformer, ICLR 2023): Q, K, V binary; Y = 0.125 * Q K^T V, then a LIF with
  threshold 0.5. 0.125 = 2^-3 is a shift (or a threshold of 4): no multiplication.
* ``ann``    (baseline): real Q, K, V; Y = softmax(Q K^T / sqrt(d)) V.

Addition-only claim: every product in ``seed``/``paper``/``binary`` has at least one operand in
{0, 1} or {-1, 0, 1}, so each term is "skip", "add" or "subtract" the other operand.
:func:`addition_only_attention` recomputes the core with selections, additions and subtractions
only, and the tests check it equals the matmul version exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from otters.errors import OttersError

SPARSE_KINDS = ("binary", "ternary")  # operands whose products are additions (ACs)


@dataclass(frozen=True)
class AttentionPreset:
    """Which neuron serves Q, K, V (and the attention weights), and how the core is computed."""

    name: str
    q: str
    k: str
    v: str
    weights: str | None  # neuron on Q K^T ("relu"), "softmax" for the ANN, None: no non-linearity
    order: str  # "qk_first": (Q K^T) V; "kv_first": Q (K^T V)
    scale: float = 1.0  # multiplies Y; 1.0 = scale-free
    out_threshold: float = 1.0  # threshold of the LIF neuron on Y
    out_norm: bool = True  # BatchNorm on Y before its neuron (folds into per-channel thresholds)


PRESETS: dict[str, AttentionPreset] = {
    "seed": AttentionPreset("seed", q="ternary", k="ternary", v="binary", weights="relu", order="qk_first"),
    "paper": AttentionPreset("paper", q="binary", k="relu", v="ternary", weights=None, order="kv_first"),
    "binary": AttentionPreset("binary", q="binary", k="binary", v="binary", weights=None, order="qk_first",
                              scale=0.125, out_threshold=0.5, out_norm=False),
    "ann": AttentionPreset("ann", q="real", k="real", v="real", weights="softmax", order="qk_first",
                           out_norm=False),
}


def get_preset(name: str) -> AttentionPreset:
    """The attention preset called ``name`` (seed, paper, binary, ann); OttersError otherwise."""
    if name not in PRESETS:
        raise OttersError(f"unknown attention {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def attention_core(q, k, v, preset: AttentionPreset, weight_neuron=None) -> torch.Tensor:
    """Y of the attention core with ordinary matmuls (the training path).

    seed: Y = SN_relu(Q K^T) V; paper: Y = Q (K^T V); binary: Y = 0.125 Q K^T V;
    ann: Y = softmax(Q K^T / sqrt(d)) V. Shapes (T, B, H, N, d) -> (T, B, H, N, d).
    ``weight_neuron`` maps the score sequence (T, ...) to attention weights (seed preset).
    """
    if preset.weights == "softmax":
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return torch.softmax(scores, dim=-1) @ v
    if preset.order == "kv_first":
        y = q @ (k.transpose(-2, -1) @ v)
    else:
        a = q @ k.transpose(-2, -1)
        if preset.weights == "relu":
            if weight_neuron is None:
                raise OttersError("the seed preset needs a ReLU neuron for the attention weights")
            a = weight_neuron(a)
        y = a @ v
    return y * preset.scale if preset.scale != 1.0 else y


def _check_sparse(x: torch.Tensor, kind: str) -> None:
    allowed = (0.0, 1.0) if kind == "binary" else (-1.0, 0.0, 1.0)
    ok = torch.zeros_like(x, dtype=torch.bool)
    for value in allowed:
        ok |= x == value
    if not bool(ok.all()):
        raise OttersError(f"a {kind} operand holds values outside {allowed}; it is not a spike tensor")


def masked_matmul(a: torch.Tensor, a_kind: str, b: torch.Tensor, b_kind: str) -> torch.Tensor:
    """a @ b computed with selections, additions and subtractions only (no multiplication).

    (a b)[i, j] = sum_l  [a_il = 1] b_lj - [a_il = -1] b_lj        when a is binary/ternary,
                = sum_l  [b_lj = 1] a_il - [b_lj = -1] a_il        when b is binary/ternary.
    ``torch.where`` selects an operand or zero; ``+``/``-`` accumulate. Refuses (OttersError) when
    neither operand is binary/ternary: a product of two real tensors needs multiplications (MACs).
    Source: A2OS2A "Guaranteed Addition-Only Computation" (CVPR 2025).
    """
    if a_kind in SPARSE_KINDS:
        _check_sparse(a, a_kind)
        selector, other, selector_is_left = a, b, True
    elif b_kind in SPARSE_KINDS:
        _check_sparse(b, b_kind)
        selector, other, selector_is_left = b, a, False
    else:
        raise OttersError(f"a product of {a_kind} and {b_kind} operands is not addition-only (it needs MACs)")
    shape = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    out = torch.zeros(shape, dtype=torch.result_type(a, b))
    zero = torch.zeros((), dtype=out.dtype)
    for col in range(a.shape[-1]):
        if selector_is_left:
            sel = selector[..., :, col : col + 1]  # (.., N, 1): which rows of b to add / subtract
            row = other[..., col : col + 1, :]  # (.., 1, M)
        else:
            sel = selector[..., col : col + 1, :]  # (.., 1, M)
            row = other[..., :, col : col + 1]  # (.., N, 1)
        out = out + torch.where(sel == 1, row, zero) - torch.where(sel == -1, row, zero)
    return out


def addition_only_attention(q, k, v, preset: AttentionPreset, weight_neuron=None) -> torch.Tensor:
    """The same Y as :func:`attention_core`, recomputed by :func:`masked_matmul` (additions only).

    seed: A = SN_relu(masked(Q, K^T)) (a ReLU neuron only adds, compares and halves: shifts),
    Y = masked(A, V); paper: Y = masked(Q, masked(K^T, V)); binary: Y = masked(masked(Q, K^T), V)
    then 0.125 as an exponent shift (``torch.ldexp``). The ann preset is refused: softmax and real
    Q K^T need multiplications.
    """
    if preset.weights == "softmax":
        raise OttersError("the ann attention is not addition-only (softmax and real products need MACs)")
    kt = k.transpose(-2, -1)
    if preset.order == "kv_first":
        y = masked_matmul(q, preset.q, masked_matmul(kt, preset.k, v, preset.v), "real")
    else:
        a = masked_matmul(q, preset.q, kt, preset.k)
        a_kind = "integer"
        if preset.weights == "relu":
            if weight_neuron is None:
                raise OttersError("the seed preset needs a ReLU neuron for the attention weights")
            a = weight_neuron(a)
            a_kind = "relu"
        y = masked_matmul(a, a_kind, v, preset.v)
    if preset.scale != 1.0:
        exponent = math.log2(preset.scale)
        if exponent != int(exponent):
            raise OttersError(f"scale {preset.scale} is not a power of two: it would need a multiplication")
        y = torch.ldexp(y, torch.tensor(int(exponent)))
    return y


def product_ops(a: torch.Tensor, a_kind: str, b: torch.Tensor, b_kind: str) -> tuple[int, int]:
    """(ACs, MACs) of a @ b when zero operands are skipped (event-driven).

    count = sum over batch, l of nnz(a[.., :, l]) * nnz(b[.., l, :]): the number of non-zero products.
    They are ACs when a or b is binary/ternary (select + add/subtract), MACs otherwise (a ReLU or
    real tensor is dense and real-valued: its products with another real tensor are multiplies).
    Source: the usual SOP accounting (count the non-zeros of binary and ternary tensors).
    """
    nnz_a_cols = (a != 0).sum(dim=-2, dtype=torch.int64)  # (.., L)
    nnz_b_rows = (b != 0).sum(dim=-1, dtype=torch.int64)  # (.., L)
    count = int((nnz_a_cols * nnz_b_rows).sum())
    if a_kind in SPARSE_KINDS or b_kind in SPARSE_KINDS:
        return count, 0
    return 0, count


def attention_ops(q, k, v, preset: AttentionPreset, weight_neuron=None) -> dict[str, int]:
    """ACs and MACs of one attention core (all heads, steps, images), in the order it is computed.

    ann adds the 1/sqrt(d) multiplies (one per score) to its MACs; softmax exponentials and
    divisions are not counted (they would only add to the ANN side). binary's 0.125 is a shift: 0.
    """
    kt = k.transpose(-2, -1)
    acs = macs = 0
    if preset.weights == "softmax":
        _, macs_qk = product_ops(q, "real", kt, "real")
        scores = q @ kt
        weights = torch.softmax(scores / math.sqrt(q.shape[-1]), dim=-1)
        _, macs_av = product_ops(weights, "real", v, "real")
        return {"acs": 0, "macs": macs_qk + macs_av + scores.numel()}
    if preset.order == "kv_first":
        ac1, mac1 = product_ops(kt, preset.k, v, preset.v)
        kv = kt @ v
        ac2, mac2 = product_ops(q, preset.q, kv, "real")
        return {"acs": ac1 + ac2, "macs": mac1 + mac2}
    ac1, mac1 = product_ops(q, preset.q, kt, preset.k)
    a = q @ kt
    a_kind = "integer"
    if preset.weights == "relu":
        a = weight_neuron(a)
        a_kind = "relu"
    ac2, mac2 = product_ops(a, a_kind, v, preset.v)
    acs, macs = ac1 + ac2, mac1 + mac2
    return {"acs": acs, "macs": macs}
