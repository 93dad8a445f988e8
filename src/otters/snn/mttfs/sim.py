"""Simulators of an M-TTFS spiking network: event-driven (closed form) and tick by tick (reference).

Source: Matterhorn (arXiv 2601.22876) M-TTFS on the TTFS timing of Otters (ICLR 2026, Prop. 1);
the two-population integer design is ours (docs/matterhorn.md). Per window:

- fire: each neuron of the firing population sends at most one spike, in the positive or the
  negative sub-population, at step k = T - c (c = |q - m| / code_scale); silent when q = m;
- integrate: a spike at step k reads a_k ADC codes through the device (a_k = c R on the nominal
  device); the receiving stage sums M_j = sum_i p_i a_(k_i) w_ij (p_i = +1 / -1 the polarity), then

      acc_j = (code_scale * M_j + R * sum_i m_i w_ij) / R

  which on the nominal device equals sum_i q_i w_ij exactly: the silent levels m_i are folded back
  as a digital integer correction (m sum_i w_ij per layer, or W m per channel), exactly like the
  signed offset of plain TTFS. Then the potential is the QNN's float (potential_from_accumulator).

``event`` computes each window in closed form; ``tick`` walks every tick of the physical clock and
fires with the two stepped thresholds (otters.coding.mttfs.mttfs_thresholds), counting spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from otters.snn.mlp.results import LayerRecord, SimulationResult, readout_record
from otters.snn.mlp.tick_sim import fire_ticks, window_synapses
from otters.snn.mlp.traces import trace_from_steps
from otters.snn.synapse import masked_accumulate, silent_correction
from otters.snn.tables import DeviceTables


@dataclass
class MaskedLayerRecord(LayerRecord):
    """A layer record of an M-TTFS population: ``polarity`` (+1 positive, -1 negative, 0 silent) per neuron."""

    polarity: torch.Tensor | None = None


def masked_record(name, pop, steps, polarity, fan_out, levels, spike_counts=None) -> MaskedLayerRecord:
    """A 'levels' record of an M-TTFS population (its trace counts spikes of both sub-populations)."""
    return MaskedLayerRecord(
        name=name, kind="levels", values=levels, steps=steps, spike_counts=spike_counts,
        trace=trace_from_steps(name, steps, pop.T, fan_out), population=pop.name, T=pop.T, polarity=polarity,
    )


def _correction(stage, pop) -> torch.Tensor:
    key = "_mttfs_correction"
    cached = stage.__dict__.get(key)
    if cached is None or cached[0] is not pop.silent:
        cached = (pop.silent, silent_correction(stage.weight_codes, pop.silent))
        object.__setattr__(stage, key, cached)
    return cached[1]


def _integrate(stage, pop, steps, polarity, tables: DeviceTables) -> torch.Tensor:
    """The stage's accumulator from one window of M-TTFS spikes (event form)."""
    readings = tables.lut(pop.T)[steps] * polarity.to(torch.float32)  # silent: a_T = 0 and polarity 0
    factors = tables.variation.synapse_factors(stage.index, tuple(stage.weight_codes.shape))
    return masked_accumulate(
        readings, stage.weight_float(), _correction(stage, pop), pop.code_scale, tables.resolution(pop.T), factors,
        max_reading=tables.max_reading(pop.T), max_row_abs=stage.max_row_abs(), max_silent=int(pop.silent.abs().max()),
    )


@torch.no_grad()
def simulate_event_masked(net, x: torch.Tensor, tables: DeviceTables) -> SimulationResult:
    """Run an M-TTFS ``net`` on x (..., in_features), event-driven (closed-form windows)."""
    result = SimulationResult("event")
    pop, name = net.encoder, net.input_name
    steps, polarity = pop.fire(x)
    for stage in net.stages:
        levels_in = pop.decode(steps, polarity)
        result.records.append(masked_record(name, pop, steps, polarity, stage.fan_out, levels_in))
        acc = _integrate(stage, pop, steps, polarity, tables)
        potential = stage.potential(acc, pop, levels_in)
        if stage.out is None:
            result.records.append(readout_record(stage.name, potential))
            return result
        pop, name = stage.out, stage.name
        steps, polarity = pop.fire(potential)
    result.records.append(masked_record(name, pop, steps, polarity, 0, pop.decode(steps, polarity)))
    return result


def _window(pop, potential, stage, tables: DeviceTables):
    """One fire window on the clock: (steps, polarity, spike counts, the next stage's M or None)."""
    T = pop.T
    step_at_tick, n_ticks = fire_ticks(tables, T)
    y = pop.normalised(potential)
    theta_pos, theta_neg = pop.thresholds()
    fired = torch.zeros(y.shape, dtype=torch.bool)
    counts = torch.zeros(y.shape, dtype=torch.int32)
    steps = torch.full(y.shape, T, dtype=torch.int64)
    polarity = torch.zeros(y.shape, dtype=torch.int64)
    weight_t, m = window_synapses(stage, tables, y.shape[:-1])
    for tick in range(n_ticks):
        k = step_at_tick.get(tick)
        if k is None:  # no fire instant: thresholds hold, nothing arrives
            continue
        up = (y >= theta_pos[..., k]) & ~fired
        down = (y < theta_neg[..., k]) & ~fired
        if not bool(up.any() or down.any()):
            continue
        counts += up.to(torch.int32) + down.to(torch.int32)  # counted, so a double spike would show
        fired |= up | down
        steps[up | down] = k
        polarity[up], polarity[down] = 1, -1
        if stage is not None:
            m += ((up.to(torch.float64) - down.to(torch.float64)) * tables.reading(T, k)) @ weight_t
    return steps, polarity, counts, m


@torch.no_grad()
def simulate_tick_masked(net, x: torch.Tensor, tables: DeviceTables) -> SimulationResult:
    """Run an M-TTFS ``net`` tick by tick (reference): stepped thresholds, refractory neurons, counted spikes."""
    result = SimulationResult("tick")
    pop, potential, name = net.encoder, x, net.input_name
    for stage in list(net.stages) + [None]:
        steps, polarity, counts, m = _window(pop, potential, stage, tables)
        levels_in = pop.decode(steps, polarity)
        fan_out = 0 if stage is None else stage.fan_out
        result.records.append(masked_record(name, pop, steps, polarity, fan_out, levels_in, spike_counts=counts))
        if stage is None:
            break
        R = tables.resolution(pop.T)
        acc = (pop.code_scale * m + R * _correction(stage, pop).to(torch.float64)) / R
        potential = stage.potential(acc, pop, levels_in)
        if stage.out is None:
            result.records.append(readout_record(stage.name, potential))
            break
        pop, name = stage.out, stage.name
    return result
