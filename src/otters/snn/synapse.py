"""Synaptic accumulation: input spikes -> ADC readings -> integer accumulator, exact by construction.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1: a spike of input neuron i at step k
adds gamma_ij * O(t_k) with gamma_ij = w_ij * alpha_in * T. We keep the sum in ADC units: with
a_k = round_half_up(O(t_k) T R) (R ADC codes per level) and integer weight codes w_ij,

    M_j   = sum_i a_(k_i) * w_ij                              (integer; silent neurons send nothing)
    acc_j = (code_scale * M_j + code_offset * R * sum_i w_ij) / R

On the nominal device a_k = c * R (c = T - k the spike's code), so acc_j = sum_i level_i * w_ij
exactly: the signed offset level = code + qmin is folded back as the integer correction
qmin * sum_i w_ij (sign mode: level = 2c - 1). Then V_j = potential_from_accumulator(acc_j,
w_scale, alpha_in, b_j) (bias = initial potential), the same float as the QNN's linear.

M-TTFS (Matterhorn, arXiv 2601.22876; the two-population integer design is ours, docs/matterhorn.md):
a spike carries a polarity p_i = +1 / -1, M_j = sum_i p_i a_(k_i) w_ij, and the silent levels m_i
are folded back the same way, acc_j = (code_scale * M_j + R * sum_i m_i w_ij) / R
(:func:`masked_accumulate`, :func:`silent_correction`).

Everything is written for weight tensors of shape (..., out, in), so the attention products with
binary keys/values (dynamic weights, Otters' 1-bit KV) use the same functions. The hooks
:func:`spiking_accumulator` and :func:`mttfs_accumulator` plug this path into models that expose an
accumulator hook (otters.nn.QuantLinear, otters.models.stages.SpikingStage.set_accumulator): each
input level is encoded as a spike, read through the device + ADC look-up table and accumulated; on
the nominal device the integers are the QNN's own (bit-exact), with a drawn chip they become lossy,
as the hardware would.
"""

from __future__ import annotations

import torch

from otters.device import PAPER_CURVE, DecayCurve
from otters.errors import OttersError
from otters.snn.neuron import masked_population, population_from_quantizer
from otters.snn.tables import DeviceTables, DeviceVariation

FLOAT32_EXACT = 2**24


def accumulate_spikes(
    readings: torch.Tensor,
    weight: torch.Tensor,
    row_sum: torch.Tensor,
    code_scale: int,
    code_offset: int,
    R: int,
    factors: torch.Tensor | None = None,
    max_reading: float | None = None,
    max_row_abs: float | None = None,
) -> torch.Tensor:
    """acc = (code_scale * readings @ (w * factors)^T + code_offset * R * row_sum) / R.

    ``readings`` (..., in): the ADC code of each input neuron's spike (0 when silent); ``weight``
    (..., out, in) integer codes as float; ``row_sum`` (..., out) of the nominal codes (the offset
    correction is digital: it cannot see device deviations); ``factors`` (out, in): per-synapse
    (1 + d_ij) or None; ``max_reading`` / ``max_row_abs``: known bounds (max |a_k|, max_j sum_i
    |w_ij|), computed from the tensors when not given. float32 while every partial sum provably stays below 2^24 (then exact),
    float64 otherwise (exact to 2^53) and always with synapse variation.
    """
    row = row_sum.unsqueeze(-2) if weight.dim() > 2 else row_sum
    if max_reading is None:
        max_reading = float(readings.abs().max()) if readings.numel() else 0.0
    if max_row_abs is None:
        max_row_abs = float(weight.abs().sum(dim=-1).max()) if weight.numel() else 0.0
    bound = (abs(code_scale) * max_reading + abs(code_offset) * R) * max_row_abs
    m = exact_readings_product(readings, weight, code_scale, factors, bound)
    if code_offset:
        m = m + (code_offset * R) * row.to(m.dtype)
    return m / R if R != 1 else m


def exact_readings_product(readings: torch.Tensor, weight: torch.Tensor, code_scale: int,
                           factors: torch.Tensor | None, bound: float) -> torch.Tensor:
    """m = code_scale * readings @ (w * factors)^T, in float32 when no ``factors`` are given and
    ``bound`` (a caller's bound on every partial sum, corrections included) is below 2^24, so that
    every integer partial sum is exact; in float64 otherwise (exact to 2^53, and per-synapse factors
    make the products non-integer)."""
    dtype = torch.float32 if factors is None and bound < FLOAT32_EXACT else torch.float64
    w = weight.to(dtype)
    if factors is not None:
        w = w * factors.to(dtype)
    m = readings.to(dtype) @ w.transpose(-1, -2)
    return m * code_scale if code_scale != 1 else m


def silent_correction(weight_codes: torch.Tensor, silent: torch.Tensor) -> torch.Tensor:
    """sum_i m_i w_ij (int64, shape (..., out)): the digital correction that adds the silent levels back.

    ``weight_codes`` (..., out, in) integers; ``silent`` 0-dim (per layer: m * row sums) or (in,).
    """
    w = weight_codes.to(torch.int64)
    if silent.dim() == 0:
        return w.sum(dim=-1) * int(silent)
    return (w * silent.to(torch.int64)).sum(dim=-1)


def masked_accumulate(
    readings: torch.Tensor,
    weight: torch.Tensor,
    correction: torch.Tensor,
    code_scale: int,
    R: int,
    factors: torch.Tensor | None = None,
    max_reading: float | None = None,
    max_row_abs: float | None = None,
    max_silent: int | None = None,
) -> torch.Tensor:
    """acc = (code_scale * readings @ (w * factors)^T + R * correction) / R.

    ``readings`` (..., in): polarity * a_k of each input neuron (0 when silent); ``weight`` (..., out, in)
    integer codes; ``correction`` (..., out) int64 from :func:`silent_correction`. float32 when
    (code_scale * max|a| + R * max|m|) * max_j sum_i |w_ij| < 2^24 guarantees every partial sum is
    exact, else float64; always float64 with per-synapse ``factors`` (device variation).
    """
    if max_reading is None:
        max_reading = float(readings.abs().max()) if readings.numel() else 0.0
    if max_row_abs is None:
        max_row_abs = float(weight.abs().sum(dim=-1).max()) if weight.numel() else 0.0
    if max_silent is None:
        max_silent = int(correction.abs().max()) if correction.numel() else 0
        bound = abs(code_scale) * max_reading * max_row_abs + R * max_silent
    else:
        bound = (abs(code_scale) * max_reading + R * abs(max_silent)) * max_row_abs
    m = exact_readings_product(readings, weight, code_scale, factors, bound)
    corr = correction.unsqueeze(-2) if weight.dim() > 2 else correction  # batched weights: one per sample/head
    m = m + R * corr.to(m.dtype)
    return m / R if R != 1 else m


def spiking_accumulator(
    quantizer,
    curve: DecayCurve | None = None,
    adc_bits: int = 8,
    variation: DeviceVariation | None = None,
    name: str = "input",
    synapse_index: int | None = None,
):
    """fn(levels_in, weight_levels) -> accumulator computed from TTFS spikes.

    ``quantizer``: the LSQQuantizer that produced ``levels_in`` (it fixes T, the signed offset and
    sign mode). ``weight_levels``: integer codes of shape (out, in) or batched (..., out, in) (binary
    weights, or K / V levels in the attention products). A chip curve in ``variation`` is always
    applied; its per-synapse deviations only with ``synapse_index`` (the stage's index among the
    model's spiking stages, which seeds its deviation matrix), given for stored weights only: dynamic
    operands (K, V) live in PE-local storage, not in devices of their own. float32 on the nominal
    device (exact integers, Proposition 1); float64 with per-synapse deviations (non-integer sums).
    """
    pop = population_from_quantizer(quantizer, name)
    tables = DeviceTables(PAPER_CURVE if curve is None else curve, adc_bits, variation)
    lut, R = tables.lut(pop.T), tables.resolution(pop.T)

    def accumulate(levels_in: torch.Tensor, weight_levels: torch.Tensor) -> torch.Tensor:
        readings = lut[pop.encode(levels_in.to(torch.int64))]
        weight = weight_levels.to(torch.float32)
        row_sum = weight_levels.to(torch.int64).sum(dim=-1).to(torch.float32)
        factors = None if synapse_index is None else tables.variation.synapse_factors(synapse_index,
                                                                                      tuple(weight.shape))
        acc = accumulate_spikes(readings, weight, row_sum, pop.code_scale, pop.code_offset, R, factors,
                                max_reading=tables.max_reading(pop.T))
        return acc if factors is not None else acc.to(torch.float32)

    return accumulate


def mttfs_accumulator(quantizer, silent=None, curve: DecayCurve | None = None, adc_bits: int = 8,
                      variation: DeviceVariation | None = None, name: str = "input"):
    """fn(levels_in, weight_levels) -> float32 accumulator computed from M-TTFS spikes (one stage's integration).

    ``quantizer`` produced ``levels_in`` (it fixes T, sign mode, and its dead zone); ``silent``: the
    population's silent level (default: the quantizer's own, else qmin); ``weight_levels`` (out, in) or
    batched (..., out, in) integer codes (binary weights, or K / V levels in the attention products).
    Each input neuron spikes once in the positive or negative sub-population at k = T - |q - m|; the ADC
    readings are accumulated against the weights and sum_i m_i w_ij is added back (exact integers on the
    nominal device). For ``SpikingStage.set_accumulator`` of the BERT student.
    """
    pop = masked_population(quantizer, name, silent)
    tables = DeviceTables(PAPER_CURVE if curve is None else curve, adc_bits, variation)
    lut, R, T = tables.lut(pop.T), tables.resolution(pop.T), pop.T

    def accumulate(levels_in: torch.Tensor, weight_levels: torch.Tensor) -> torch.Tensor:
        steps, polarity = pop.encode(levels_in.to(torch.int64))
        if bool((steps < 0).any()):
            raise OttersError(f"{name}: a level lies more than T = {T} steps from the silent level")
        readings = lut[steps] * polarity.to(torch.float32)
        weight = weight_levels.to(torch.float32)
        correction = silent_correction(weight_levels, pop.silent)
        acc = masked_accumulate(readings, weight, correction, pop.code_scale, R, max_reading=tables.max_reading(T),
                                max_silent=int(pop.silent.abs().max()),
                                max_row_abs=float(weight.abs().sum(dim=-1).max()) if weight.numel() else 0.0)
        return acc.to(torch.float32)

    return accumulate
