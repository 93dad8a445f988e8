"""The fast, vectorised event-driven simulator (used for inference).

Same semantics as the tick reference (:mod:`otters.snn.mlp.tick_sim`), computed per window in closed
form, with no Python loop over neurons or ticks:

1. fire: each neuron's spike step is the first k with y >= theta_k (one ``searchsorted``);
2. deliver: spikes are bucketed by their step; the ADC reading of each spike is gathered from the
   per-step look-up table a_k (``lut[steps]``, silent -> 0);
3. integrate: one dense accumulation M = readings @ W^T of integer codes (exact float32 or float64),
   folded into the integer accumulator and the shared potential (Otters, Prop. 1).

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1; project exactness design.
"""

from __future__ import annotations

import torch

from otters.snn.mlp.results import SimulationResult, fired_record, readout_record
from otters.snn.synapse import accumulate_spikes
from otters.snn.tables import DeviceTables


@torch.no_grad()
def simulate_event(net, x: torch.Tensor, tables: DeviceTables) -> SimulationResult:
    """Run ``net`` (a SpikingNetwork) on inputs x of shape (..., in_features), event-driven."""
    result = SimulationResult("event")
    pop, steps = net.encoder, net.encoder.fire(x)
    name = net.input_name
    for stage in net.stages:
        levels_in = pop.decode(steps)
        result.records.append(fired_record(name, pop, steps, stage.fan_out, levels=levels_in))
        lut = tables.lut(pop.T)
        readings = lut[steps]  # each spike's ADC reading, gathered by its step (silent -> 0)
        factors = tables.variation.synapse_factors(stage.index, tuple(stage.weight_codes.shape))
        acc = accumulate_spikes(
            readings,
            stage.weight_float(),
            stage.row_sum(),
            pop.code_scale,
            pop.code_offset,
            tables.resolution(pop.T),
            factors,
            max_reading=tables.max_reading(pop.T),
            max_row_abs=stage.max_row_abs(),
        )
        potential = stage.potential(acc, pop, levels_in)
        if stage.out is None:
            result.records.append(readout_record(stage.name, potential))
            return result
        pop, steps, name = stage.out, stage.out.fire(potential), stage.name
    result.records.append(fired_record(name, pop, steps, 0))
    return result
