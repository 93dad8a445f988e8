"""The hardware-level simulation of a spiking BERT against its closed-form simulation.

Source: Otters (ICLR 2026, arXiv 2509.18968), Prop. 1 and Sec. 3. The fast simulator computes each
window in closed form with every device read taken exactly at t_k through an ADC of at least n
bits. The hardware simulation runs the same network through :class:`otters.snn.hardware.HardwareExecutor`
with one device read per spike (select-and-add by weight sign) taken the way a clocked chip takes
it (:class:`otters.coding.chip_read.ChipRead`: the tick holding t_k, a b-bit ADC with its own rounding
and saturation, optional output drift, timing jitter and Gaussian read noise); its spikes are the
simulated threshold crossings, counted per neuron.

Comparison, as the closed-form verification does (levels and accumulators bit for bit): per
population (every firing population, stored K / V included), the levels its spikes encode, and per
spiking stage its accumulator, under the hardware simulation against a reference run of the same
executor with the exact codes, whose logits are checked equal to the fast simulator's sentence by sentence (so the
reference *is* the closed form); and the logits. Layers are ``layers.i`` and ``pooler``; the first
layer with a differing population is named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from otters.coding.chip_read import ChipRead
from otters.coding.tolerance import default_clock_period
from otters.errors import OttersError
from otters.snn.audit import firing_populations
from otters.snn.hardware import HardwareExecutor


@dataclass
class PopulationDiff:
    """One population: neurons compared, neurons whose level differs, the largest level difference."""

    name: str
    layer: str
    neurons: int
    mismatches: int
    max_level_diff: int
    max_spikes_per_neuron: int


@dataclass
class StageDiff:
    """One spiking stage: accumulators compared, those that differ, the largest difference (in levels)."""

    name: str
    layer: str
    outputs: int
    mismatches: int
    max_diff: float


@dataclass
class HardwareVerification:
    """``exact``: every population level and every logit equal; ``layers``: layer -> exact."""

    exact: bool
    max_level_diff: int
    max_spikes_per_neuron: int
    logits_equal: bool
    first_inexact_layer: str | None
    layers: dict
    populations: list[PopulationDiff] = field(default_factory=list)
    stages: list[StageDiff] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _input_T(snn, stage_name: str) -> int:
    """T of the population whose spikes a stage reads (Q for Q.K^T, P for P.V)."""
    for ly in snn.layers:
        if stage_name.endswith(".qk") and stage_name.startswith(f"layers.{ly.index}."):
            return ly.query.out.T
        if stage_name.endswith(".pv") and stage_name.startswith(f"layers.{ly.index}."):
            return ly.p.T
    for stage in snn.linear_stages:
        if stage.name == stage_name:
            return stage.pop_in.T
    raise OttersError(f"unknown spiking stage {stage_name!r}")


def read_windows_T(snn) -> list[int]:
    """The window lengths T whose spikes are read through the device (stage inputs, Q, P)."""
    Ts = {stage.pop_in.T for stage in snn.linear_stages}
    Ts |= {ly.query.out.T for ly in snn.layers} | {ly.p.T for ly in snn.layers}
    return sorted(Ts)


def chip_read(snn, dt: float | None = None, adc_bits: int = 8, drift: float = 0.0, jitter: float = 0.0,
              read_noise: float = 0.0) -> ChipRead:
    """The chip's read model for ``snn``; ``dt`` None: the default clock (a quarter of the tightest
    clock bound of the network's window lengths, otters.coding.tolerance.default_clock_period)."""
    if dt is None:
        Ts = read_windows_T(snn)
        bits = max([adc_bits] + [(T + 1).bit_length() - 1 for T in Ts])
        dt = default_clock_period(snn.curve, Ts, bits)
    return ChipRead(snn.curve, dt, adc_bits, drift=drift, jitter=jitter, read_noise=read_noise)


def _layer_of(name: str) -> str:
    parts = name.split(".")
    return f"layers.{parts[1]}" if parts[0] == "layers" else "pooler"


@torch.no_grad()
def verify_hardware(snn, read: ChipRead, input_ids, attention_mask=None, token_type_ids=None, seed: int = 0,
                    broken_reset: bool = False) -> HardwareVerification:
    """Run ``snn`` (a plain-TTFS SpikingBert) at the hardware level with ``read`` and compare (module docstring)."""
    ids = torch.as_tensor(input_ids)
    mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
    types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
    reference = HardwareExecutor(snn, adc_per="spike").forward(ids, mask, types)
    for row in range(ids.shape[0]):
        real = mask[row].bool()
        fast = snn(ids[row][real][None], None, types[row][real][None]).logits
        if not torch.equal(fast[0], reference.logits[row]):
            raise OttersError(f"sentence {row}: the exact-code executor differs from the fast simulator")
    hardware = HardwareExecutor(snn, read=read, adc_per="spike", seed=seed, broken_reset=broken_reset)
    got = hardware.forward(ids, mask, types)
    firings = firing_populations(snn)
    populations = []
    for name, firing in firings.items():
        neurons = mismatches = worst = 0
        for ref_steps, hw_steps in zip(reference.steps[name], got.steps[name]):
            diff = (firing.decode(hw_steps) - firing.decode(ref_steps)).abs()
            neurons += int(diff.numel())
            mismatches += int((diff != 0).sum())
            worst = max(worst, int(diff.max()) if diff.numel() else 0)
        populations.append(PopulationDiff(name, _layer_of(name), neurons, mismatches, worst,
                                          got.max_spikes.get(name, 0)))
    stages = []
    for name, ref_accs in reference.accumulators.items():
        T = _input_T(snn, name)
        scale = [float(2 ** max(b - ((T + 1).bit_length() - 1), 0)) for b in (snn.adc_bits, read.adc_bits)]
        outputs = mismatches = 0
        worst = 0.0
        for ref, acc in zip(ref_accs, got.accumulators[name]):
            diff = (acc / scale[1] - ref / scale[0]).abs()
            outputs += int(diff.numel())
            mismatches += int((diff != 0).sum())
            worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
        stages.append(StageDiff(name, _layer_of(name), outputs, mismatches, worst))
    order = [f"layers.{i}" for i in range(len(snn.layers))] + ["pooler"]
    layers = {layer: all(d.mismatches == 0 for d in populations + stages if d.layer == layer) for layer in order}
    logits_equal = bool(torch.equal(got.logits, reference.logits))
    first = next((layer for layer in order if not layers[layer]), None)
    return HardwareVerification(
        exact=first is None and logits_equal,
        max_level_diff=max((p.max_level_diff for p in populations), default=0),
        max_spikes_per_neuron=max((p.max_spikes_per_neuron for p in populations), default=0),
        logits_equal=logits_equal,
        first_inexact_layer=first if first is not None else (None if logits_equal else "logits"),
        layers=layers,
        populations=populations,
        stages=stages,
        settings={"dt": read.dt, "adc_bits": read.adc_bits, "drift": read.drift, "jitter": read.jitter,
                  "read_noise": read.read_noise, "seed": int(seed), "sentences": int(ids.shape[0])},
    )
