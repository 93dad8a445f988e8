"""What a simulation returns: one record per layer (levels or potential, spike steps, traces)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from otters.snn.mlp.traces import SpikeTrace, trace_from_steps
from otters.snn.neuron import FiringPopulation


@dataclass
class LayerRecord:
    """One layer's outcome.

    ``kind`` 'levels': a population fired; ``values`` are its decoded levels (int64), ``steps`` the
    spike steps (T = silent), ``spike_counts`` the spikes each neuron emitted (int32; None: one per spike step, see
    :meth:`spikes_per_neuron`), ``trace`` its
    activity. ``kind`` 'potential': a digital readout; ``values`` are the float32 potentials.
    ``population`` names the QNN quantizer a population replaces.
    """

    name: str
    kind: str
    values: torch.Tensor
    steps: torch.Tensor | None = None
    spike_counts: torch.Tensor | None = None
    trace: SpikeTrace | None = None
    population: str | None = None
    T: int | None = None

    def spikes_per_neuron(self) -> torch.Tensor | None:
        """Spikes each neuron emitted: counted by the tick reference, one per non-silent neuron in
        the event simulator (its representation holds one step per neuron)."""
        if self.spike_counts is not None:
            return self.spike_counts
        if self.steps is None:
            return None
        return (self.steps < self.T).to(torch.int32)


@dataclass
class SimulationResult:
    """Records in firing order (input population first) and the simulator that produced them."""

    simulator: str
    records: list[LayerRecord] = field(default_factory=list)

    @property
    def output(self) -> torch.Tensor:
        """The last layer's values (levels or readout potential)."""
        return self.records[-1].values

    @property
    def traces(self) -> list[SpikeTrace]:
        return [r.trace for r in self.records if r.trace is not None]

    def to_dict(self) -> dict:
        """JSON-ready summary: the simulator and each population's spike trace."""
        return {"simulator": self.simulator, "traces": [t.to_dict() for t in self.traces]}


def fired_record(
    name: str,
    pop: FiringPopulation,
    steps: torch.Tensor,
    fan_out: int,
    spike_counts: torch.Tensor | None = None,
    levels: torch.Tensor | None = None,
) -> LayerRecord:
    """A 'levels' record from spike steps; ``spike_counts`` defaults to one per non-silent neuron."""
    return LayerRecord(
        name=name,
        kind="levels",
        values=pop.decode(steps) if levels is None else levels,
        steps=steps,
        spike_counts=spike_counts,
        trace=trace_from_steps(name, steps, pop.T, fan_out),
        population=pop.name,
        T=pop.T,
    )


def readout_record(name: str, potential: torch.Tensor) -> LayerRecord:
    """A 'potential' record: the stage's V read out digitally after its window."""
    return LayerRecord(name=name, kind="potential", values=potential)
