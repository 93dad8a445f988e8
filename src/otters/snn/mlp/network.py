"""A converted spiking network: an input population, then spiking linear stages in their windows.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1: window 0 encodes the input (the
input quantizer as a population of TTFS neurons whose initial potential is the input value);
window l + 1 fires the output population of stage l while stage l + 1 integrates those spikes;
digital blocks (residual adds) run between windows. One semantics, two simulators:
``simulator="event"`` (vectorised, for inference) and ``simulator="tick"`` (reference).

A :class:`SpikingLinear` stage integrates its input spikes (``otters.snn.synapse``), forms the
potential V = potential_from_accumulator(acc, w_scale, alpha_in, b) (the bias is the initial
potential; a residual adds the dequantized input levels digitally after the window), and either
its output population fires on V in the next window or V is read out digitally.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from otters.device import DecayCurve
from otters.errors import OttersError
from otters.nn.qmlp import dequantize
from otters.quant import potential_from_accumulator
from otters.snn.mlp.event_sim import simulate_event
from otters.snn.mlp.results import SimulationResult
from otters.snn.mlp.tick_sim import simulate_tick
from otters.snn.neuron import FiringPopulation
from otters.snn.tables import DeviceTables, DeviceVariation

SIMULATORS = ("event", "tick")


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


class SpikingNetwork:
    """``encoder`` population (named ``input_name``) followed by ``stages``; device ``curve`` and ADC bits."""

    def __init__(
        self,
        encoder: FiringPopulation,
        stages: list[SpikingLinear],
        curve: DecayCurve,
        adc_bits: int = 8,
        input_name: str = "input_quant",
    ):
        if not stages:
            raise OttersError("a spiking network needs at least one spiking linear stage")
        self.encoder, self.stages, self.curve = encoder, list(stages), curve
        self.adc_bits, self.input_name = int(adc_bits), input_name
        self._nominal_tables = DeviceTables(curve, self.adc_bits)

    @property
    def in_features(self) -> int:
        return self.stages[0].fan_in

    @property
    def layer_names(self) -> list[str]:
        """Record names in firing order: the input population, then each stage."""
        return [self.input_name] + [s.name for s in self.stages]

    def tables(self, variation: DeviceVariation | None = None, dt: float | None = None) -> DeviceTables:
        """Device tables of the nominal chip (cached) or of a drawn one."""
        if (variation is None or variation.is_nominal) and dt is None:
            return self._nominal_tables
        return DeviceTables(self.curve, self.adc_bits, variation, dt)

    def _checked_inputs(self, x, simulator: str) -> torch.Tensor:
        """x as a float32 tensor, after checking the simulator name, the feature width and finiteness."""
        if simulator not in SIMULATORS:
            raise OttersError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise OttersError(f"inputs must have {self.in_features} features in the last dim, got shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise OttersError("inputs contain NaN or inf; clean the data first")
        return x

    def run(
        self,
        x,
        simulator: str = "event",
        variation: DeviceVariation | None = None,
        dt: float | None = None,
    ) -> SimulationResult:
        """Simulate one inference per sample of x (..., in_features) with the chosen simulator.

        ``variation``: a drawn chip (lossy on purpose); ``dt``: clock period of the tick reference
        (default: the coarsest one that separates the fire instants).
        """
        x = self._checked_inputs(x, simulator)
        tables = self.tables(variation, dt)
        if simulator == "event":
            return simulate_event(self, x, tables)
        return simulate_tick(self, x, tables)

    def __call__(self, x, simulator: str = "event") -> torch.Tensor:
        """The output of one inference: last layer's levels (or readout potential)."""
        return self.run(x, simulator).output

    def populations(self) -> dict[str, FiringPopulation]:
        """Firing populations by record name (input first)."""
        pops = {self.input_name: self.encoder}
        pops.update({s.name: s.out for s in self.stages if s.out is not None})
        return pops

    def with_population(self, name: str, population: FiringPopulation) -> "SpikingNetwork":
        """A copy whose population ``name`` (a record name) is replaced (e.g. a deliberately wrong one)."""
        if name == self.input_name:
            return SpikingNetwork(population, self.stages, self.curve, self.adc_bits, self.input_name)
        stages = [replace(s, out=population) if s.name == name else s for s in self.stages]
        if all(s.name != name for s in self.stages):
            raise OttersError(f"no layer named {name!r}; layers are {', '.join(self.layer_names)}")
        return SpikingNetwork(self.encoder, stages, self.curve, self.adc_bits, self.input_name)

    def describe(self) -> dict:
        """JSON-ready structure: windows, T per population, stage shapes."""
        return {
            "curve": self.curve.to_dict() if hasattr(self.curve, "to_dict") else repr(self.curve),
            "adc_bits": self.adc_bits,
            "input": {"name": self.input_name, "bits": self.encoder.bits, "T": self.encoder.T},
            "stages": [
                {
                    "name": s.name,
                    "in": s.fan_in,
                    "out": s.fan_out,
                    "residual": s.residual,
                    "fires": s.out is not None,
                    "T_out": None if s.out is None else s.out.T,
                }
                for s in self.stages
            ],
        }
