"""TTFS workloads: Otters (optoelectronic synapse + ADC) and Matterhorn (M-TTFS + memristive crossbar).

Otters (ICLR 2026, arXiv 2509.18968), Prop. 1: an input neuron with code c > 0 spikes once at step
k = T - c; the device's analog output is the fused product weight x decay, read through an ADC into
a_k = O(t_k) T R codes (R = 2^(adc_bits - n)), so the accumulator holds ADC units; the output
neuron divides by R (a shift), forms V = acc * scale + bias, and fires in the next window at the
first step whose stepped threshold it reaches. Binary K/V (PE-local, Canon-style) turn Q.K^T and
P.V into selective add/sub of the Q or P spike's ADC code. Signed Q uses the offset code, corrected
per score by -2^(n-1) * sum_j K_j (one subtraction; the per-key sums are precomputed).

Matterhorn (arXiv 2601.22876): M-TTFS keeps the most frequent level silent (dead zone optional); a
256 x 256 memristive crossbar (MSU) integrates every linear layer in the analog domain: per spike a
word-line drive and cell reads, per output column one ADC conversion per window (bit-line
integration), no weight reads. Its attention is digital (our assumption: as Otters' 4-bit K/V with
counter-based spike-time decoding instead of a device read).
"""

from __future__ import annotations

import math

from otters.coding.adc import adc_resolution
from otters.energy.msu import msu_linear_counts
from otters.energy.op_counts import (
    Ctx,
    acc_bits,
    accumulate,
    bspn,
    potential,
    ptsoftmax,
    quantize,
    spike_bits,
    spikes_in,
    ttfs_neurons,
    values_out,
    weight_reads,
)
from otters.energy.stats import Population
from otters.energy.workload import Workload

T_TTFS = 15


def _fire(ctx: Ctx, pop: Population, dead_zone: int | None) -> float:
    """Spikes per neuron: TTFS offset code (dead_zone None) or M-TTFS with this dead zone."""
    return pop.ttfs_fire if dead_zone is None else pop.mttfs_fire(dead_zone)


def _outputs(w: Workload, ctx: Ctx, outs: list, acc: int, T: int, dead_zone: int | None, adc_units: bool = True) -> None:
    """Output neurons: (per-token count, kind, population); kinds: spikes, kv1, kv4, residual."""
    L = ctx.L
    for n_tok, kind, pop in outs:
        n = L * n_tok
        if adc_units:
            w.op("shifts", f"int{acc}", n)  # accumulator in ADC units / R
        potential(w, n)
        if kind == "spikes":
            ttfs_neurons(w, ctx, n, T, pop, n, fire=_fire(ctx, pop, dead_zone))
        elif kind in ("kv1", "kv4"):
            bits = 1 if kind == "kv1" else 4
            if bits == 1:
                w.op("compares", "int16", n)  # sign
            else:
                quantize(w, n)
            w.move("kv", "local", n * bits)
            w.move("kv", "noc", n * bits * ctx.hw.noc_hops)
        else:
            values_out(w, n, 32)


def _ttfs_linear(ctx: Ctx, name: str, part: str, d_in: int, d_out: int, pop: Population, outs: list, T: int = T_TTFS,
                 dead_zone: int | None = None) -> Workload:
    L, hw = ctx.L, ctx.hw
    w = Workload(name, part)
    S = L * d_in * _fire(ctx, pop, dead_zone)
    syn = S * d_out
    acc = acc_bits(T * adc_resolution(T, hw.adc_bits), d_in)
    if hw.adc_per == "synapse":  # the device output is weight x decay: one read + conversion per synaptic event
        w.device_reads += syn
        w.convert(hw.adc_bits, syn)
        accumulate(w, syn, acc, in_bits=hw.adc_bits, signed_pm=False)
    elif hw.adc_per == "spike":  # one decay reading per spike, weight sign applied digitally
        w.device_reads += S
        w.convert(hw.adc_bits, S)
        accumulate(w, syn, acc, in_bits=hw.adc_bits)
        weight_reads(w, ctx, d_in * d_out, 1, syn)
    else:  # column: currents sum on the output line; one reading per output, row tile and active step
        rows = min(hw.column_rows, d_in)
        tiles_in = math.ceil(d_in / rows)
        bits = hw.column_adc_bits or math.ceil(math.log2(2 * rows + 1))
        active = pop.ttfs_active_steps(rows, T) if dead_zone is None else pop.mttfs_active_steps(rows, T, dead_zone)
        reads = L * d_out * tiles_in * active
        w.device_reads += syn
        w.convert(bits, reads)
        acc = acc_bits(T, d_in)  # level units: the reading (a signed count) times the step's code T - k
        w.op("mults", f"int4x{bits}", reads)
        accumulate(w, reads, acc, in_bits=bits, signed_pm=False)
    spikes_in(w, ctx, S, spike_bits(ctx, L * d_in, T, signed=False))
    _outputs(w, ctx, outs, acc, T, dead_zone, adc_units=hw.adc_per != "column")
    return w


def _xbar_linear(ctx: Ctx, name: str, part: str, d_in: int, d_out: int, pop: Population, outs: list,
                 dead_zone: int, T: int = T_TTFS) -> Workload:
    L, hw = ctx.L, ctx.hw
    w = Workload(name, part)
    S = L * d_in * pop.mttfs_fire(dead_zone)
    msu = msu_linear_counts(hw, L, d_in, d_out, pop.mttfs_fire(dead_zone), T)
    w.xbar_rows += msu.row_drives
    w.xbar_cells += msu.cell_reads
    w.xbar_sense += msu.conversions
    w.convert(msu.adc_bits, msu.conversions)
    acc = acc_bits(min(hw.xbar_rows, d_in) * T, math.ceil(d_in / hw.xbar_rows))
    accumulate(w, msu.conversions, acc, in_bits=msu.adc_bits, signed_pm=False)  # partial sums over row tiles
    spikes_in(w, ctx, S, spike_bits(ctx, L * d_in, T, signed=False))
    _outputs(w, ctx, outs, acc, T, dead_zone, adc_units=False)
    return w


def _attention(ctx: Ctx, kv_bits: int, dead_zone: int | None, analog_decode: bool, T: int = T_TTFS) -> list[Workload]:
    """scores, softmax (PTsoftmax + TTFS encoding of P), context for stored K/V of ``kv_bits``."""
    L, d, h, dh, hw = ctx.L, ctx.g.hidden, ctx.g.heads, ctx.g.head_dim, ctx.hw
    s, u = ctx.stats.signed4, ctx.stats.unsigned4
    R = adc_resolution(T, hw.adc_bits) if analog_decode else 1
    code_bits = hw.adc_bits if analog_decode else 4
    kmax = 1 if kv_bits == 1 else 8

    def product(name: str, n_driver: float, pop: Population, fan: int, acc: int) -> Workload:
        w = Workload(name, "attention")
        S = n_driver * _fire(ctx, pop, dead_zone)
        spikes_in(w, ctx, S, spike_bits(ctx, int(n_driver), T, signed=False))
        if analog_decode:  # the spike's time read as a decay value through the device and ADC
            w.device_reads += S
            w.convert(hw.adc_bits, S)
        ops = S * fan
        if kv_bits == 1:
            accumulate(w, ops, acc, in_bits=code_bits)  # selective add / sub by the stored sign
        else:
            w.op("mults", f"int{code_bits}x4", ops)
            accumulate(w, ops, acc, in_bits=code_bits, signed_pm=False)
        w.move("kv", "local", ops * kv_bits)
        return w

    acc_s = acc_bits(T * R * kmax, dh)
    scores = product("scores", L * d, s, L, acc_s)
    scores.op("adds", "int16", L * d).op("subs", f"int{acc_s}", L * L * h)  # offset-code correction
    if analog_decode:
        scores.op("shifts", f"int{acc_s}", L * L * h)  # ADC units / R
    softmax = Workload("softmax", "attention")
    ptsoftmax(softmax, ctx)
    ttfs_neurons(softmax, ctx, L * L * h, T, u, L * L * h, fire=_fire(ctx, u, dead_zone))
    acc_c = acc_bits(T * R * kmax, L)
    context = product("context", L * L * h, u, dh, acc_c)
    _outputs(context, ctx, [(d, "spikes", s)], acc_c, T, dead_zone, adc_units=analog_decode)
    return [scores, softmax, context]


def _norms(ctx: Ctx, dead_zone: int | None, T: int = T_TTFS) -> list[Workload]:
    out = []
    for name in ("norm1", "norm2"):
        w = Workload(name, "norms")
        bspn(w, ctx)
        ttfs_neurons(w, ctx, ctx.L * ctx.g.hidden, T, ctx.stats.signed4, ctx.L * ctx.g.hidden,
                     fire=_fire(ctx, ctx.stats.signed4, dead_zone))
        out.append(w)
    return out


def build_otters(ctx: Ctx, kv_bits: int = 1, dead_zone: int | None = None) -> list[Workload]:
    """Otters on the optoelectronic synapse; ``dead_zone`` None: plain TTFS (offset code), an int:
    M-TTFS with that dead zone (the combination of Otters' device with Matterhorn's coding)."""
    d, f = ctx.g.hidden, ctx.g.ffn
    s, u = ctx.stats.signed4, ctx.stats.unsigned4
    kv = "kv1" if kv_bits == 1 else "kv4"
    dz = dead_zone
    qkv = _ttfs_linear(ctx, "qkv", "QKV", d, 3 * d, s, [(d, "spikes", s), (d, kv, None), (d, kv, None)], dead_zone=dz)
    n1, n2 = _norms(ctx, dz)
    return [qkv, *_attention(ctx, kv_bits, dz, analog_decode=True),
            _ttfs_linear(ctx, "out_proj", "FC", d, d, s, [(d, "residual", None)], dead_zone=dz), n1,
            _ttfs_linear(ctx, "ffn1", "FC", d, f, s, [(f, "spikes", u)], dead_zone=dz),
            _ttfs_linear(ctx, "ffn2", "FC", f, d, u, [(d, "residual", None)], dead_zone=dz), n2]


def build_matterhorn(ctx: Ctx, dead_zone: int = 0) -> list[Workload]:
    d, f = ctx.g.hidden, ctx.g.ffn
    s, u = ctx.stats.signed4, ctx.stats.unsigned4
    qkv = _xbar_linear(ctx, "qkv", "QKV", d, 3 * d, s, [(d, "spikes", s), (d, "kv4", None), (d, "kv4", None)], dead_zone)
    n1, n2 = _norms(ctx, dead_zone)
    return [qkv, *_attention(ctx, 4, dead_zone, analog_decode=False),
            _xbar_linear(ctx, "out_proj", "FC", d, d, s, [(d, "residual", None)], dead_zone), n1,
            _xbar_linear(ctx, "ffn1", "FC", d, f, s, [(f, "spikes", u)], dead_zone),
            _xbar_linear(ctx, "ffn2", "FC", f, d, u, [(d, "residual", None)], dead_zone), n2]
