"""The reference simulator: steps every tick of the uniform physical clock (for verification).

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 and Sec. 3. Window w lasts from t_0 to
t_T of the firing population's T on the clock of period dt (otters.device.clock of the fire
times). At every tick t of window w:

- the firing population (layer w) compares y = V/alpha + 1/2 with its stepped threshold
  theta(t) = theta_k for tick(t_k) <= t < tick(t_(k+1)); a neuron that has not fired yet and
  reaches it emits its one spike now (refractory afterwards: at most one spike per inference);
- the next stage (layer w + 1) integrates: M_j(t) = M_j(t-1) + sum_{i fired at t} a(t) * w_ij,
  where a(t) is the ADC reading of the device at the spike instant, round_half_up(O(t_k) T R),
  computed from the chip curve (not from the event simulator's look-up table).

At a tick with no fire instant nothing arrives and the threshold holds, so V(t) = V(t-1) and no
neuron can newly cross: the loop visits every tick but only such ticks cost tensor work. After the
window the accumulator becomes the potential (shared digital arithmetic, bias as the initial
potential, residual added digitally) and the next window starts.
"""

from __future__ import annotations

import torch

from otters.snn.mlp.results import SimulationResult, fired_record, readout_record
from otters.snn.tables import DeviceTables


def fire_ticks(tables: DeviceTables, T: int) -> tuple[dict[int, int], int]:
    """({tick of fire instant t_k: k for k < T}, number of ticks in the window, t_T included)."""
    ticks, _dt = tables.ticks(T)
    return {int(tick): k for k, tick in enumerate(ticks[:T].tolist())}, int(ticks[T]) + 1


def window_synapses(stage, tables: DeviceTables, batch_shape) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The next stage's synapses as seen by the tick loop: ((w * factors)^T in float64, a zero
    accumulator M of shape batch_shape + (fan_out,)); (None, None) when no stage follows."""
    if stage is None:
        return None, None
    weight = stage.weight_float().to(torch.float64)
    factors = tables.variation.synapse_factors(stage.index, tuple(weight.shape))
    weight_t = (weight if factors is None else weight * factors).transpose(0, 1)
    return weight_t, torch.zeros(tuple(batch_shape) + (stage.fan_out,), dtype=torch.float64)


def _window(pop, potential, stage, tables: DeviceTables):
    """One firing window: (spike steps, spikes per neuron, the next stage's M or None)."""
    T = pop.T
    threshold_steps, n_ticks = fire_ticks(tables, T)
    y = pop.normalised(potential)
    fired = torch.zeros(y.shape, dtype=torch.bool)
    counts = torch.zeros(y.shape, dtype=torch.int32)
    steps = torch.full(y.shape, T, dtype=torch.int64)
    weight_t, m = window_synapses(stage, tables, y.shape[:-1])
    for tick in range(n_ticks):
        k = threshold_steps.get(tick)
        if k is None:  # no fire instant: threshold unchanged, nothing arrives
            continue
        theta = pop.thresholds[k]
        crossing = (y >= theta) & ~fired
        if not bool(crossing.any()):
            continue
        fired |= crossing
        counts += crossing.to(torch.int32)
        steps[crossing] = k
        if stage is not None:
            reading = tables.reading(T, k)
            m += (crossing.to(torch.float64) * reading) @ weight_t
    return steps, counts, m


@torch.no_grad()
def simulate_tick(net, x: torch.Tensor, tables: DeviceTables) -> SimulationResult:
    """Run ``net`` (a SpikingNetwork) tick by tick on inputs x of shape (..., in_features)."""
    result = SimulationResult("tick")
    pop, potential, name = net.encoder, x, net.input_name
    for stage in list(net.stages) + [None]:
        steps, counts, m = _window(pop, potential, stage, tables)
        levels_in = pop.decode(steps)
        fan_out = 0 if stage is None else stage.fan_out
        result.records.append(fired_record(name, pop, steps, fan_out, spike_counts=counts, levels=levels_in))
        if stage is None:
            break
        R = tables.resolution(pop.T)
        acc = (pop.code_scale * m + (pop.code_offset * R) * stage.row_sum().to(torch.float64)) / R
        potential = stage.potential(acc, pop, levels_in)
        if stage.out is None:
            result.records.append(readout_record(stage.name, potential))
            break
        pop, name = stage.out, stage.name
    return result
