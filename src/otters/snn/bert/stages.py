"""The pieces of a spiking BERT: firing populations with stepped thresholds and static-weight stages.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 and Sec. 3: a spike at step k drives
the device, whose ADC reading a_k (= code * R on the nominal device) is added to the integer
accumulator once per synapse, with the sign (or, for 4-bit K/V, the level) of the synapse; the
accumulator becomes the potential through the shared ``otters.quant.potential_from_accumulator``.
The attention products, whose synapses are the stored K and V, are in ``otters.snn.bert.attention``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from otters.quant import potential_from_accumulator
from otters.snn.neuron import (
    FiringPopulation,
    StepThresholds,
    accumulator_thresholds,
    population_from_quantizer,
    value_thresholds,
)
from otters.snn.synapse import accumulate_spikes, masked_accumulate, silent_correction
from otters.snn.tables import DeviceTables

FIRE_MODES = ("event", "threshold")


class PopulationView:
    """``name`` and ``T`` of the wrapped population ``self.pop`` (shared by the firing records)."""

    @property
    def name(self) -> str:
        return self.pop.name

    @property
    def T(self) -> int:
        return self.pop.T


@dataclass(eq=False)
class Firing(PopulationView):
    """A TTFS population and how it fires.

    ``domain`` "value": its initial potential is a float from a digital block (the stage input h,
    the attention probabilities); "accumulator": it integrates a spiking stage and ``potential``
    maps that stage's accumulator to V. Fire modes (same spikes, checked by tests):
    "event" = closed form floor(V/alpha + 1/2) (``FiringPopulation.fire``, fast);
    "threshold" = comparisons of the input itself with the stepped thresholds (what the hardware does).
    """

    pop: FiringPopulation
    thresholds: StepThresholds
    potential: Callable[[torch.Tensor], torch.Tensor] | None = None

    def steps(self, x: torch.Tensor, mode: str = "event") -> torch.Tensor:
        """Spike step of each neuron (T = silent) for input x (a value, or an accumulator)."""
        if mode == "threshold":
            return self.thresholds.steps(x)
        return self.pop.fire(x if self.potential is None else self.potential(x))

    def spikes(self, x: torch.Tensor, mode: str = "event") -> tuple[torch.Tensor, None]:
        """(steps, polarity): plain TTFS has one (positive) population, so polarity is None."""
        return self.steps(x, mode), None

    def decode(self, steps: torch.Tensor, polarity: torch.Tensor | None = None) -> torch.Tensor:
        """Levels of the spikes (int64)."""
        return self.pop.decode(steps)


def value_firing(quantizer, name: str) -> Firing:
    """Population fed by a digital block: thresholds in the units of the value itself."""
    pop = population_from_quantizer(quantizer, name)
    return Firing(pop, value_thresholds(pop))


def accumulator_firing(quantizer, name: str, potential: Callable, channels: int | None) -> Firing:
    """Population fed by a spiking stage: integer thresholds on that stage's accumulator."""
    pop = population_from_quantizer(quantizer, name)
    return Firing(pop, accumulator_thresholds(pop, potential, channels), potential)


class TtfsPopulations:
    """Plain TTFS populations for every quantizer of a student (Otters, Prop. 1): silence is the lowest
    level. What ``otters.snn.bert.convert.build_spiking_bert`` asks for each population; the M-TTFS
    counterpart is ``otters.snn.mttfs.bert.MaskedPopulations``."""

    masked = False

    def value(self, quantizer, name: str) -> Firing:
        return value_firing(quantizer, name)

    def accumulator(self, quantizer, name: str, potential: Callable, channels: int | None) -> Firing:
        return accumulator_firing(quantizer, name, potential, channels)


@dataclass(eq=False)
class LinearStage:
    """A spiking stage with static binary weights (QKV, O, FFN1, FFN2, pooler).

    ``weight``: codes +-1 as float32 (out, in); ``scale``: float32 0-dim (W_b = codes * scale);
    ``bias``: float32 (out,) or None, the initial potential; ``pop_in``: the population whose spikes
    it integrates; ``out``: the population that fires on its accumulator, or None (digital readout).
    ``index`` numbers the static stages (it seeds the per-synapse variation of a drawn chip).
    """

    name: str
    index: int
    window: int
    weight: torch.Tensor
    scale: torch.Tensor
    bias: torch.Tensor | None
    pop_in: FiringPopulation
    out: Firing | None = None
    layer: int | None = None
    row_sum: torch.Tensor = field(init=False)
    plus_per_input: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.weight = self.weight.to(torch.float32).contiguous()
        self.row_sum = self.weight.sum(dim=-1)  # exact: at most 2^24 terms of +-1
        self.plus_per_input = (self.weight > 0).sum(dim=0).to(torch.int64)  # +1 synapses of each input neuron

    @property
    def fan_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def fan_out(self) -> int:
        return int(self.weight.shape[0])

    def potential(self, acc: torch.Tensor) -> torch.Tensor:
        """V = potential_from_accumulator(acc, scale, alpha_in, bias): the QNN's own float32 map."""
        return potential_from_accumulator(acc, self.scale, self.pop_in.alpha, self.bias)

    def accumulate(self, steps: torch.Tensor, tables: DeviceTables, polarity: torch.Tensor | None = None) -> torch.Tensor:
        """Integer accumulator (levels_in @ codes^T on the nominal chip) from the input spike steps
        (and, for an M-TTFS input population, their polarities)."""
        pop = self.pop_in
        readings = tables.lut(pop.T)[steps]  # each spike's ADC reading (silent -> 0)
        factors = tables.variation.synapse_factors(self.index, tuple(self.weight.shape))
        if polarity is not None:
            correction = self.__dict__.get("_silent_correction")
            if correction is None:  # sum_i m w_ij: an integer per output, folded in digitally
                correction = self.__dict__["_silent_correction"] = silent_correction(self.weight, pop.silent)
            return masked_accumulate(readings * polarity.to(readings.dtype), self.weight, correction, pop.code_scale,
                                     tables.resolution(pop.T), factors, max_reading=tables.max_reading(pop.T),
                                     max_row_abs=float(self.fan_in), max_silent=int(pop.silent.abs().max()))
        return accumulate_spikes(readings, self.weight, self.row_sum, pop.code_scale, pop.code_offset,
                                 tables.resolution(pop.T), factors, max_reading=tables.max_reading(pop.T),
                                 max_row_abs=float(self.fan_in))
