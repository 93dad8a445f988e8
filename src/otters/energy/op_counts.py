"""Operation-counting helpers shared by the analytical workloads: geometry, memory traffic, neurons, norms.

Every architecture builder (``otters.energy.architectures``) is written with these, so that the
same dataflow assumptions apply to all models (docs/energy.md, "Dataflow"):

- a synaptic operation (MAC or accumulate) reads its weight from PE-local SRAM (weights are
  stationary in the PEs; none for optoelectronic devices and crossbars, whose weights sit in the
  analog array), its input operand from a register, and reads + writes its accumulator register;
- each tensor is written once to the global buffer by its producer and read once by each consumer,
  crossing ``noc_hops`` router hops; dense values move as packed words, spikes as address events
  (source address, plus time step and sign where present);
- membrane state that must survive between time steps sits in PE-local SRAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from otters.energy.model import Hardware
from otters.energy.stats import FiringStats, Population
from otters.energy.workload import Workload
from otters.errors import OttersError


@dataclass(frozen=True)
class Geometry:
    """Transformer encoder geometry; energies are per encoder layer ("attention block")."""

    name: str
    layers: int
    hidden: int
    heads: int
    ffn: int

    def __post_init__(self) -> None:
        if min(self.layers, self.hidden, self.heads, self.ffn) < 1:
            raise OttersError(f"geometry {self.name!r}: layers, hidden, heads and ffn must be >= 1")
        if self.hidden % self.heads:
            raise OttersError(f"geometry {self.name!r}: hidden {self.hidden} is not divisible by heads {self.heads}")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def block_weights(self) -> int:
        """Weights of one encoder layer: Q, K, V, O (d x d each) and the FFN (2 d f)."""
        return 4 * self.hidden**2 + 2 * self.hidden * self.ffn


GEOMETRIES = {
    "bert-base": Geometry("bert-base", 12, 768, 12, 3072),
    "bert-large": Geometry("bert-large", 24, 1024, 16, 4096),
    "bert-mini": Geometry("bert-mini", 4, 256, 4, 1024),
}


def get_geometry(name: str) -> Geometry:
    if name not in GEOMETRIES:
        raise OttersError(f"unknown geometry {name!r}; choose one of {', '.join(GEOMETRIES)}")
    return GEOMETRIES[name]


@dataclass(frozen=True)
class Ctx:
    """What a builder needs: geometry, tokens per inference, hardware, firing statistics, weight bits."""

    g: Geometry
    L: int
    hw: Hardware
    stats: FiringStats
    weight_bits: float = 1.0
    dead_zone: int = 0  # M-TTFS dead-zone half-width of the architectures that use M-TTFS

    @property
    def weights_offchip(self) -> bool:
        """Weights stream from DRAM when the whole model's weights do not fit the on-chip capacity."""
        model_bits = self.g.layers * self.g.block_weights * self.weight_bits
        return model_bits > self.hw.onchip_weight_mb * 8 * 2**20


def acc_bits(max_term: float, fan_in: int) -> int:
    """Accumulator width holding +-max_term * fan_in, plus sign, rounded up to whole bytes."""
    need = math.ceil(math.log2(max_term * fan_in + 1)) + 1
    return 8 * math.ceil(need / 8)


def spike_bits(ctx: Ctx, population: int, T: int, signed: bool) -> int:
    """Address-event message: source address (token and channel), time step if stamped, sign if signed."""
    bits = math.ceil(math.log2(max(population, 2)))
    if ctx.hw.spike_timestamp:
        bits += math.ceil(math.log2(max(T, 2)))
    return bits + (1 if signed else 0)


def weight_reads(w: Workload, ctx: Ctx, n_weights: float, w_bits: float, uses: float) -> None:
    """Per-use weight reads from PE-local SRAM, plus the per-inference DRAM stream when weights are off chip."""
    w.move("weights", "local", uses * w_bits)
    if ctx.weights_offchip:
        passes = 1 if ctx.hw.dram_weight_passes == "once" else ctx.L
        w.move("weights", "dram", n_weights * w_bits * passes)
        w.move("weights", "local", n_weights * w_bits * passes)  # written into the PE buffers


def values_in(w: Workload, ctx: Ctx, n: float, bits: float) -> None:
    """Read ``n`` dense values from the global buffer and carry them over the NoC."""
    w.move("activations", "global", n * bits)
    w.move("activations", "noc", n * bits * ctx.hw.noc_hops)


def values_out(w: Workload, n: float, bits: float) -> None:
    w.move("activations", "global", n * bits)


def spikes_in(w: Workload, ctx: Ctx, n: float, bits: int) -> None:
    w.move("spikes", "global", n * bits)
    w.move("spikes", "noc", n * bits * ctx.hw.noc_hops)


def spikes_out(w: Workload, n: float, bits: int) -> None:
    w.spikes += n
    w.move("spikes", "global", n * bits)


def accumulate(w: Workload, ops: float, acc: int, in_bits: float, signed_pm: bool = True, dtype: str | None = None) -> None:
    """``ops`` accumulations into ``acc``-bit registers; a +-1 operand splits them into adds and subs."""
    dtype = dtype or f"int{acc}"
    if signed_pm:
        w.op("adds", dtype, ops / 2).op("subs", dtype, ops / 2)
    else:
        w.op("adds", dtype, ops)
    w.move("activations", "reg", ops * (in_bits + 2 * acc))


def potential(w: Workload, n: float) -> None:
    """potential_from_accumulator: V = acc * (weight_scale * alpha_in) + bias, in float32 per neuron."""
    w.op("mults", "fp32", n).op("adds", "fp32", n)


def quantize(w: Workload, n: float) -> None:
    """clamp(round_half_up(V / alpha), qmin, qmax): one fp32 mult, one fp32 add, two compares."""
    w.op("mults", "fp32", n).op("adds", "fp32", n).op("compares", "int8", 2 * n)


def if_neurons(w: Workload, ctx: Ctx, n: float, T: int, acc: int, pop: Population, population: int, signed: bool) -> None:
    """Rate-coded IF neurons over T steps: per step bias add, threshold compare, state read + write; reset per spike."""
    w.op("adds", f"int{acc}", n * T).op("compares", f"int{acc}", n * T)
    w.move("state", "local", n * T * 2 * acc)
    out = n * pop.mean_abs_level
    w.op("subs", f"int{acc}", out)
    spikes_out(w, out, spike_bits(ctx, population, T, signed))


def ttfs_neurons(w: Workload, ctx: Ctx, n: float, T: int, pop: Population, population: int, fire: float | None = None) -> None:
    """TTFS output neurons: u = V / alpha + 1/2 (fp32), V saved across the window boundary, stepped-threshold
    compares at steps 0..k of the fire window (Otters Prop. 1); one spike when the code is > 0."""
    w.op("mults", "fp32", n).op("adds", "fp32", n)
    w.move("state", "local", n * 2 * 32)
    w.op("compares", "int16", n * pop.ttfs_compares(T))
    fired = n * (pop.ttfs_fire if fire is None else fire)
    spikes_out(w, fired, spike_bits(ctx, population, T, signed=False))


def layernorm(w: Workload, ctx: Ctx) -> None:
    """Residual add + LayerNorm in fp32 per token of d values (mean, variance, rsqrt by 2 Newton steps, affine)."""
    L, d = ctx.L, ctx.g.hidden
    w.op("adds", "fp32", L * d)  # residual
    w.op("adds", "fp32", L * (3 * d + 2)).op("subs", "fp32", L * (d + 2)).op("mults", "fp32", L * (3 * d + 6))
    values_in(w, ctx, 2 * L * d, 32)
    values_out(w, L * d, 32)


def bspn(w: Workload, ctx: Ctx) -> None:
    """Residual add + Sorbet's BSPN: per value a group-|x| add and power-of-two exponent arithmetic
    (group shift, norm x affine shift, rounding to a signed power of two); per group of 64 a log2."""
    L, d = ctx.L, ctx.g.hidden
    n = L * d
    w.op("adds", "fp32", 2 * n)  # residual, group sum of |x|
    w.op("adds", "int8", 3 * n).op("compares", "int8", n)
    w.op("adds", "int8", 2 * L * math.ceil(d / 64))
    values_in(w, ctx, 2 * n, 32)
    values_out(w, n, 32)  # the residual stream for the next residual add


def softmax_fp32(w: Workload, ctx: Ctx) -> None:
    """Softmax in fp32 per score: max compare, subtract, exp (x log2e, split, degree-3 Horner: 4 mult + 4 add),
    sum, normalise by a per-row reciprocal (2 Newton steps); plus the 1/sqrt(d_h) scale."""
    L, h = ctx.L, ctx.g.heads
    n = L * L * h
    w.op("mults", "fp32", n)  # 1/sqrt(d_h)
    w.op("compares", "fp32", n).op("subs", "fp32", n)
    w.op("mults", "fp32", 4 * n).op("adds", "fp32", 4 * n)  # exp
    w.op("adds", "fp32", n).op("mults", "fp32", n)  # sum, normalise
    w.op("mults", "fp32", 4 * L * h).op("subs", "fp32", 2 * L * h)  # reciprocal per row
    w.move("activations", "reg", n * 2 * 32)


def ptsoftmax(w: Workload, ctx: Ctx) -> None:
    """Sorbet's PTsoftmax per score: dequantise (fp32 mult), ceil (fp32 add), max compare, subtract, 2^(s - max)
    (shift), sum, divide by the power-of-two sum (shift), clamp to 4 bits; per row Z rounded to a power of two."""
    L, h = ctx.L, ctx.g.heads
    n = L * L * h
    w.op("mults", "fp32", n).op("adds", "fp32", n)
    w.op("compares", "int8", 2 * n).op("subs", "int8", n).op("shifts", "int16", 2 * n).op("adds", "int16", n)
    w.op("shifts", "int16", 2 * L * h)
    w.move("activations", "reg", n * 2 * 16)
