"""Spiking accumulators for models that expose an accumulator hook (otters.nn.QuantLinear,
otters.models.stages.SpikingStage.set_accumulator).

Such a model computes acc = levels_in @ weight_levels^T and then the shared potential. The hook
lets the SNN replace that matmul with the spiking path: each input level is TTFS-encoded
(k = T - code), read through the device + ADC look-up table (a_k), and accumulated against the
integer weights (:func:`otters.snn.accumulate_spikes`). On the nominal device it returns the same
integers, so the model stays bit-exact; with a drawn chip it becomes lossy, as the hardware would.
Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1; project exactness design.
"""

from __future__ import annotations

import torch

from otters.device import PAPER_CURVE, DecayCurve
from otters.snn.populations import population_from_quantizer
from otters.snn.stages import accumulate_spikes
from otters.snn.tables import DeviceTables, DeviceVariation


def spiking_accumulator(
    quantizer,
    curve: DecayCurve | None = None,
    adc_bits: int = 8,
    variation: DeviceVariation | None = None,
    name: str = "input",
):
    """fn(levels_in, weight_levels) -> float32 accumulator computed from TTFS spikes.

    ``quantizer``: the LSQQuantizer that produced ``levels_in`` (it fixes T, the signed offset and
    sign mode). ``weight_levels``: integer codes of shape (out, in) or batched (..., out, in) (binary
    weights, or K / V levels in the attention products). Per-synapse variation is not applied here
    (weights may be dynamic); a chip curve in ``variation`` is.
    """
    pop = population_from_quantizer(quantizer, name)
    tables = DeviceTables(PAPER_CURVE if curve is None else curve, adc_bits, variation)
    lut, R = tables.lut(pop.T), tables.resolution(pop.T)

    def accumulate(levels_in: torch.Tensor, weight_levels: torch.Tensor) -> torch.Tensor:
        readings = lut[pop.encode(levels_in.to(torch.int64))]
        weight = weight_levels.to(torch.float32)
        row_sum = weight_levels.to(torch.int64).sum(dim=-1).to(torch.float32)
        acc = accumulate_spikes(readings, weight, row_sum, pop.code_scale, pop.code_offset, R, max_reading=tables.max_reading(pop.T))
        return acc.to(torch.float32)

    return accumulate
