"""M-TTFS conversion of a QNN MLP: silent state = the most frequent level, lossless; with a dead zone,
equal to the dead-zone QNN.

Source: Matterhorn (arXiv 2601.22876), M-TTFS and the dead zone, on Otters' TTFS timing and device
(ICLR 2026, Prop. 1). Design and proof: docs/matterhorn.md.

    snn = convert(qnn, coding="mttfs", calibration=x_train)        # per-layer masks from data
    snn = convert(qnn, coding="mttfs", calibration=x_train, granularity="channel")
    apply_dead_zone(qnn, 3); snn = convert(qnn, coding="mttfs")     # the SNN equals the dead-zone QNN
    verify(qnn, snn, x)                                             # bit-exact, both simulators

(``otters.convert`` / ``otters.verify``, the one entry each, come here for these models.) The whole
spiking BERT with M-TTFS: ``otters.snn.mttfs.bert``. Stage by stage: ``otters.snn.synapse.mttfs_accumulator``
(the integration half of a stage through M-TTFS spikes, for ``SpikingStage.set_accumulator``) and
``otters.snn.neuron.masked_population`` (the firing half).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from otters.device import DecayCurve
from otters.errors import OttersError
from otters.snn.mlp.convert import convert_mlp
from otters.snn.mlp.network import SpikingNetwork
from otters.snn.mttfs.calibrate import calibrate_silent_levels
from otters.snn.mttfs.settings import CODINGS, zero_level
from otters.snn.mttfs.sim import simulate_event_masked, simulate_tick_masked
from otters.snn.neuron import MaskedPopulation, masked_population
from otters.snn.tables import DeviceVariation


class MaskedSpikingNetwork(SpikingNetwork):
    """A :class:`SpikingNetwork` whose populations are :class:`MaskedPopulation` (M-TTFS)."""

    coding = "mttfs"

    def __init__(self, encoder: MaskedPopulation, stages, curve: DecayCurve, adc_bits: int = 8, input_name: str = "input_quant"):
        super().__init__(encoder, stages, curve, adc_bits, input_name)
        widths = [(encoder, stages[0].fan_in)] + [(s.out, s.fan_out) for s in stages if s.out is not None]
        for pop, width in widths:
            if pop.per_channel and pop.silent.numel() != width:
                raise OttersError(f"{pop.name}: {pop.silent.numel()} per-channel silent levels for {width} neurons")

    def run(self, x, simulator: str = "event", variation: DeviceVariation | None = None, dt: float | None = None):
        """Simulate one inference per sample of x (..., in_features): ``event`` (closed form) or ``tick`` (reference)."""
        x = self._checked_inputs(x, simulator)
        tables = self.tables(variation, dt)
        simulate = simulate_event_masked if simulator == "event" else simulate_tick_masked
        return simulate(self, x, tables)

    def with_population(self, name: str, population: MaskedPopulation) -> "MaskedSpikingNetwork":
        """A copy whose population ``name`` (a record name) is replaced."""
        if name == self.input_name:
            return MaskedSpikingNetwork(population, self.stages, self.curve, self.adc_bits, self.input_name)
        if all(s.name != name for s in self.stages):
            raise OttersError(f"no layer named {name!r}; layers are {', '.join(self.layer_names)}")
        stages = [replace(s, out=population) if s.name == name else s for s in self.stages]
        return MaskedSpikingNetwork(self.encoder, stages, self.curve, self.adc_bits, self.input_name)

    def describe(self) -> dict:
        d = super().describe()
        d["coding"] = "mttfs"
        d["populations"] = {
            name: {"quantizer": p.name, "silent": p.silent.tolist(), "dead_zone": p.dead_zone}
            for name, p in self.populations().items()
        }
        return d


def convert_mttfs(qnn, curve: DecayCurve | None = None, adc_bits: int = 8, coding: str = "mttfs", calibration=None,
                  granularity: str = "layer", silent: dict | None = None) -> MaskedSpikingNetwork:
    """The M-TTFS spiking network of ``qnn`` (QuantMLP or nn.Sequential, possibly with dead-zone quantizers).

    Silent level of each population (keyed by quantizer name): ``silent[name]`` if given; the
    quantizer's own if it has a dead zone > 0 (the SNN reproduces that dead-zone QNN); else, for
    coding "mttfs", the most frequent level on ``calibration`` (per layer or per channel); for coding
    "ttfs", qmin (plain TTFS; dead-zone populations keep their own m).
    """
    if coding not in CODINGS:
        raise OttersError(f"coding must be one of {', '.join(CODINGS)}, got {coding!r}")
    if not isinstance(qnn, (nn.Sequential,)) and not hasattr(qnn, "quantizer_names"):
        raise OttersError(f"M-TTFS conversion takes a QuantMLP or an nn.Sequential QNN, got {type(qnn).__name__}; "
                          "for a model converted stage by stage use mttfs_accumulator and masked_population")
    base = convert_mlp(qnn, curve, adc_bits)
    modules = dict(qnn.named_modules())
    chosen = {k: torch.as_tensor(v, dtype=torch.int64) for k, v in (silent or {}).items()}
    unknown = set(chosen) - {p.name for p in base.populations().values()}
    if unknown:
        raise OttersError(f"silent levels given for unknown populations {sorted(unknown)}")
    pops = list(base.populations().values())
    need = [p.name for p in pops if p.name not in chosen and getattr(modules[p.name], "dead_zone", 0) == 0]
    if coding == "ttfs":  # plain TTFS: silence stays with qmin, except around a dead zone's own level
        chosen.update({p.name: torch.tensor(p.qmin) for p in pops if p.name in need})
    elif coding == "split":  # sign-split TTFS: silence at the level of 0, no data needed
        chosen.update({n: zero_level(modules[n]) for n in need})
    elif need:
        if calibration is None:
            raise OttersError("M-TTFS needs calibration inputs (the silent level is the most frequent level on "
                              "training data) or explicit silent levels for " + ", ".join(need))
        chosen.update({n: m for n, m in calibrate_silent_levels(qnn, calibration, granularity, names=need).items()})
    masked = {p.name: masked_population(modules[p.name], p.name, chosen.get(p.name)) for p in pops}
    stages = [s if s.out is None else replace(s, out=masked[s.out.name]) for s in base.stages]
    return MaskedSpikingNetwork(masked[base.encoder.name], stages, base.curve, base.adc_bits, base.input_name)
