"""A converted spiking network: an input population, then spiking linear stages in their windows.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1: window 0 encodes the input (the
input quantizer as a population of TTFS neurons whose initial potential is the input value);
window l + 1 fires the output population of stage l while stage l + 1 integrates those spikes;
digital blocks (residual adds) run between windows. One semantics, two simulators:
``simulator="event"`` (vectorised, for inference) and ``simulator="tick"`` (reference).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from otters.device import DecayCurve
from otters.errors import OttersError
from otters.snn.populations import FiringPopulation
from otters.snn.results import SimulationResult
from otters.snn.stages import SpikingLinear
from otters.snn.tables import DeviceTables, DeviceVariation

SIMULATORS = ("event", "tick")


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
            from otters.snn.event_sim import simulate_event

            return simulate_event(self, x, tables)
        from otters.snn.tick_sim import simulate_tick

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
