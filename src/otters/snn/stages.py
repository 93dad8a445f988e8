"""The spiking linear stage: input spikes -> integer accumulator -> potential -> fire or read out.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1: a spike of input neuron i at step k
adds gamma_ij * O(t_k) with gamma_ij = w_ij * alpha_in * T. We keep the sum in ADC units: with
a_k = round_half_up(O(t_k) T R) (R ADC codes per level) and integer weight codes w_ij,

    M_j   = sum_i a_(k_i) * w_ij                              (integer; silent neurons send nothing)
    acc_j = (code_scale * M_j + code_offset * R * sum_i w_ij) / R

On the nominal device a_k = c * R (c = T - k the spike's code), so acc_j = sum_i level_i * w_ij
exactly: the signed offset level = code + qmin is folded back as the integer correction
qmin * sum_i w_ij (sign mode: level = 2c - 1). Then V_j = potential_from_accumulator(acc_j,
w_scale, alpha_in, b_j) (bias = initial potential), the same float as the QNN's linear, and either
the output population fires on V (next window) or V is read out digitally (residual adds, norms...).

The stage is written for any weight tensor of shape (..., out, in), so attention products with
binary keys/values (dynamic weights, Otters' 1-bit KV) reuse :func:`accumulate_spikes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from otters.nn.qmlp import dequantize
from otters.quant import potential_from_accumulator
from otters.snn.populations import FiringPopulation

FLOAT32_EXACT = 2**24


@dataclass(frozen=True)
class SpikingLinear:
    """One spiking linear stage (QuantLinear converted by Proposition 1).

    ``weight_codes`` int (out, in) and ``weight_scale`` float32 (W_q = codes * scale); ``bias``
    float32 (out,) or None (the initial potential); ``residual``: add the dequantized input levels
    digitally after the window; ``out``: the population that fires on V, or None (digital readout).
    ``index`` numbers the stage (it seeds the per-synapse variation matrix).
    """

    name: str
    index: int
    weight_codes: torch.Tensor
    weight_scale: torch.Tensor
    bias: torch.Tensor | None
    residual: bool
    out: FiringPopulation | None

    @property
    def fan_in(self) -> int:
        return int(self.weight_codes.shape[-1])

    @property
    def fan_out(self) -> int:
        return int(self.weight_codes.shape[-2])

    def weight_float(self) -> torch.Tensor:
        """The codes as float32 (exact: |code| <= 128), cached on first use."""
        cached = self.__dict__.get("_weight_float")
        if cached is None:
            cached = self.weight_codes.to(torch.float32).contiguous()
            object.__setattr__(self, "_weight_float", cached)
        return cached

    def row_sum(self) -> torch.Tensor:
        """sum_i w_ij per output neuron (float32, exact): the signed-offset correction's factor."""
        cached = self.__dict__.get("_row_sum")
        if cached is None:
            cached = self.weight_codes.to(torch.int64).sum(dim=-1).to(torch.float32)
            object.__setattr__(self, "_row_sum", cached)
        return cached

    def max_row_abs(self) -> float:
        """max_j sum_i |w_ij|: bounds the accumulator for the float32 exactness test."""
        cached = self.__dict__.get("_max_row_abs")
        if cached is None:
            cached = float(self.weight_codes.to(torch.int64).abs().sum(dim=-1).max()) if self.weight_codes.numel() else 0.0
            object.__setattr__(self, "_max_row_abs", cached)
        return cached

    def potential(self, acc: torch.Tensor, pop_in: FiringPopulation, levels_in: torch.Tensor | None = None) -> torch.Tensor:
        """V = potential_from_accumulator(acc, w_scale, alpha_in, b) [+ levels_in * alpha_in if residual]."""
        v = potential_from_accumulator(acc, self.weight_scale, pop_in.alpha, self.bias)
        if self.residual:
            v = v + dequantize(levels_in, pop_in.alpha)
        return v


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
