"""Analytical workloads of one encoder layer ("attention block") per inference, per architecture.

Stages per layer: qkv (QKV); scores, softmax, context (attention); out_proj, ffn1, ffn2 (FC);
norm1, norm2 (norms: residual add + LayerNorm or BSPN, and the encoder of the next input).
Activation statistics come from ``ctx.stats`` (``otters.energy.stats``); the dataflow is the
shared one of ``otters.energy.op_counts``. Codings (docs/energy.md lists every assumption):

- bert: full-precision BERT, fp32 MACs, GELU, softmax, LayerNorm.
- qnn-bert: Sorbet's W1A4 QNN (1-bit weights, 4-bit activations and Q/K/V, PTsoftmax, BSPN), zero
  activations skipped, dense 4-bit values moved.
- sorbet: the same network rate coded with IF neurons over T = 16 steps (signed spikes for
  signed tensors); Q.K^T and P.V accumulate spike events against stored integer counts.
- spikelm: SpikeLM (Xing et al., ICML 2024) elastic bi-spiking: ternary spikes over T = 4 steps with
  the amplitude folded into the weights; softmax and LayerNorm in fp32; 1-bit weights assumed as in
  the Otters comparison (``spikelm-w32``: fp32 weights).
- otters-1bitkv / otters-4bitkv: TTFS over T = 15 on the optoelectronic synapse (device read + ADC,
  Otters Prop. 1), PTsoftmax and BSPN digital; 1-bit K/V make Q.K^T and P.V selective add/sub,
  4-bit K/V need an ADC-code x 4-bit multiply.
- matterhorn: M-TTFS spikes into 256 x 256 memristive crossbars (MSU) for every linear layer (no
  weight reads, one ADC conversion per output column per window), attention as otters-4bitkv but
  with digital spike-time decoding.
"""

from __future__ import annotations

import math

from otters.energy.op_counts import (
    Ctx,
    acc_bits,
    accumulate,
    bspn,
    if_neurons,
    layernorm,
    potential,
    ptsoftmax,
    quantize,
    softmax_fp32,
    spike_bits,
    spikes_in,
    values_in,
    values_out,
    weight_reads,
)
from otters.energy.stats import Population
from otters.energy.workload import Workload

T_SORBET = 16
T_SPIKELM = 4


def _qabs(pop: Population) -> int:
    return max(-pop.qmin, pop.qmax)


# ----------------------------------------------------------------------------- full precision
def _dense_fp32(ctx: Ctx, name: str, part: str, d_in: int, d_out: int) -> Workload:
    L = ctx.L
    w = Workload(name, part)
    macs = L * d_in * d_out
    w.op("mults", "fp32", macs).op("adds", "fp32", macs + L * d_out)  # MACs + bias
    weight_reads(w, ctx, d_in * d_out, 32, macs)
    values_in(w, ctx, L * d_in, 32)
    w.move("activations", "reg", macs * (32 + 2 * 32))
    values_out(w, L * d_out, 32)
    return w


def _dense_product(ctx: Ctx, name: str, n_in: int, bits: int, mult: str, add: str, acc: int, ops: float) -> Workload:
    """An attention product: the stored operand (K or V) is placed in PE-local storage, read per op."""
    w = Workload(name, "attention")
    w.op("mults", mult, ops).op("adds", add, ops)
    values_in(w, ctx, n_in, bits)
    w.move("kv", "local", ctx.L * ctx.g.hidden * bits + ops * bits)
    w.move("activations", "reg", ops * (bits + 2 * acc))
    return w


def build_bert(ctx: Ctx) -> list[Workload]:
    L, d, f = ctx.L, ctx.g.hidden, ctx.g.ffn
    macs = L * L * d
    scores = _dense_product(ctx, "scores", 2 * L * d, 32, "fp32", "fp32", 32, macs)
    softmax = Workload("softmax", "attention")
    softmax_fp32(softmax, ctx)
    context = _dense_product(ctx, "context", L * d, 32, "fp32", "fp32", 32, macs)
    values_out(context, L * d, 32)
    ffn1 = _dense_fp32(ctx, "ffn1", "FC", d, f)
    ffn1.op("mults", "fp32", 10 * L * f).op("adds", "fp32", 6 * L * f)  # tanh-form GELU
    norm1, norm2 = Workload("norm1", "norms"), Workload("norm2", "norms")
    layernorm(norm1, ctx)
    layernorm(norm2, ctx)
    return [_dense_fp32(ctx, "qkv", "QKV", d, 3 * d), scores, softmax, context,
            _dense_fp32(ctx, "out_proj", "FC", d, d), norm1, ffn1, _dense_fp32(ctx, "ffn2", "FC", f, d), norm2]


# ----------------------------------------------------------------------------- 1-bit QNN
def _qnn_linear(ctx: Ctx, name: str, part: str, d_in: int, d_out: int, pop: Population, quantized: bool) -> Workload:
    L = ctx.L
    w = Workload(name, part)
    syn = L * d_in * d_out * pop.nonzero
    accumulate(w, syn, acc_bits(_qabs(pop), d_in), in_bits=4)
    weight_reads(w, ctx, d_in * d_out, 1, syn)
    values_in(w, ctx, L * d_in, 4)
    potential(w, L * d_out)
    if quantized:
        quantize(w, L * d_out)
    values_out(w, L * d_out, 4 if quantized else 32)
    return w


def build_qnn(ctx: Ctx) -> list[Workload]:
    L, d, f, dh = ctx.L, ctx.g.hidden, ctx.g.ffn, ctx.g.head_dim
    s, u = ctx.stats.signed4, ctx.stats.unsigned4
    ops_s = L * L * d * s.nonzero
    scores = _dense_product(ctx, "scores", 2 * L * d, 4, "int4x4", f"int{acc_bits(64, dh)}", acc_bits(64, dh), ops_s)
    softmax = Workload("softmax", "attention")
    ptsoftmax(softmax, ctx)
    acc = acc_bits(15 * 8, L)
    context = _dense_product(ctx, "context", L * d, 4, "int4x4", f"int{acc}", acc, L * L * d * u.nonzero)
    potential(context, L * d)
    quantize(context, L * d)
    values_out(context, L * d, 4)
    norms = []
    for name in ("norm1", "norm2"):
        w = Workload(name, "norms")
        bspn(w, ctx)
        quantize(w, L * d)
        values_out(w, L * d, 4)
        norms.append(w)
    return [_qnn_linear(ctx, "qkv", "QKV", d, 3 * d, s, True), scores, softmax, context,
            _qnn_linear(ctx, "out_proj", "FC", d, d, s, False), norms[0],
            _qnn_linear(ctx, "ffn1", "FC", d, f, s, True), _qnn_linear(ctx, "ffn2", "FC", f, d, u, False), norms[1]]


# ----------------------------------------------------------------------------- rate coding
def _rate_linear(ctx: Ctx, name: str, part: str, d_in: int, d_out: int, pop: Population, T: int,
                 out: Population | None, w_bits: int, signed_in: bool = True) -> Workload:
    """Spike events x fan-out accumulates; IF output neurons over T steps (``out``) or a digital readout."""
    L = ctx.L
    w = Workload(name, part)
    S = L * d_in * pop.mean_abs_level
    syn = S * d_out
    if w_bits == 1:
        acc = acc_bits(_qabs(pop), d_in)
        accumulate(w, syn, acc, in_bits=1)
    elif w_bits >= 16:
        acc = 32
        accumulate(w, syn, acc, in_bits=1, signed_pm=False, dtype=f"fp{w_bits}")
    else:
        acc = acc_bits(_qabs(pop) * 2 ** (w_bits - 1), d_in)
        accumulate(w, syn, acc, in_bits=1, signed_pm=False)
    weight_reads(w, ctx, d_in * d_out, w_bits, syn)
    spikes_in(w, ctx, S, spike_bits(ctx, L * d_in, T, signed_in))
    if out is not None:
        if_neurons(w, ctx, L * d_out, T, acc, out, L * d_out, signed=out.qmin < 0)
    else:
        potential(w, L * d_out)
        values_out(w, L * d_out, 32)
    return w


def _rate_product(ctx: Ctx, name: str, driver: Population, n_driver: float, fan: int, stored: Population,
                  T: int, signed_driver: bool, acc: int) -> Workload:
    """Spike events of ``driver`` accumulate the stored integer counts of ``stored`` (K or V), ``fan`` per event."""
    L, d = ctx.L, ctx.g.hidden
    w = Workload(name, "attention")
    kb = math.ceil(math.log2(stored.qmax - stored.qmin + 1))
    S_store = L * d * stored.mean_abs_level
    spikes_in(w, ctx, S_store, spike_bits(ctx, L * d, T, True))
    w.op("adds", "int8", S_store)  # spike counters of K or V
    S_drv = n_driver * driver.mean_abs_level
    spikes_in(w, ctx, S_drv, spike_bits(ctx, int(n_driver), T, signed_driver))
    ops = S_drv * fan
    accumulate(w, ops, acc, in_bits=1, signed_pm=signed_driver)
    w.move("kv", "local", L * d * kb + ops * kb)
    return w


def _build_rate(ctx: Ctx, T: int, sig: Population, uns: Population, w_bits: int, fp_norms: bool) -> list[Workload]:
    L, d, f, h, dh = ctx.L, ctx.g.hidden, ctx.g.ffn, ctx.g.heads, ctx.g.head_dim
    qa = _qabs(sig)
    scores = _rate_product(ctx, "scores", sig, L * d, L, sig, T, True, acc_bits(qa * qa, dh))
    softmax = Workload("softmax", "attention")
    (softmax_fp32 if fp_norms else ptsoftmax)(softmax, ctx)
    if_neurons(softmax, ctx, L * L * h, T, acc_bits(uns.qmax, T), uns, L * L * h, signed=False)
    context = _rate_product(ctx, "context", uns, L * L * h, dh, sig, T, False, acc_bits(uns.qmax * qa, L))
    if_neurons(context, ctx, L * d, T, acc_bits(uns.qmax * qa, L), sig, L * d, signed=True)
    norms = []
    for name in ("norm1", "norm2"):
        w = Workload(name, "norms")
        (layernorm if fp_norms else bspn)(w, ctx)
        if_neurons(w, ctx, L * d, T, 16, sig, L * d, signed=True)  # encoder of the next linear's input
        norms.append(w)
    ffn_mid = sig if fp_norms else uns  # SpikeLM's bi-spiking FFN neurons are signed; Sorbet's follow ReLU
    return [_rate_linear(ctx, "qkv", "QKV", d, 3 * d, sig, T, sig, w_bits), scores, softmax, context,
            _rate_linear(ctx, "out_proj", "FC", d, d, sig, T, None, w_bits), norms[0],
            _rate_linear(ctx, "ffn1", "FC", d, f, sig, T, ffn_mid, w_bits),
            _rate_linear(ctx, "ffn2", "FC", f, d, ffn_mid, T, None, w_bits, signed_in=ffn_mid.qmin < 0), norms[1]]


def build_sorbet(ctx: Ctx) -> list[Workload]:
    return _build_rate(ctx, T_SORBET, ctx.stats.signed4, ctx.stats.unsigned4, 1, fp_norms=False)


def build_spikelm(ctx: Ctx, w_bits: int = 1) -> list[Workload]:
    return _build_rate(ctx, T_SPIKELM, ctx.stats.bispike_signed, ctx.stats.bispike_unsigned, w_bits, fp_norms=True)
