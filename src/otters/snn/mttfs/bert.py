"""M-TTFS (Matterhorn) in the whole spiking BERT: masked populations, their silent levels, their activity.

Source: Matterhorn (arXiv 2601.22876): the silent (no-spike) state goes to the most frequent level m
of each population, calibrated on training data, and a dead zone |q - m| <= k maps to silence too;
built on the TTFS timing and device of Otters (ICLR 2026, Prop. 1). The two-population design and
its exactness proof are ours (docs/matterhorn.md, sections 1-2).

In :func:`otters.snn.convert` of a student with ``coding="mttfs"``, or configured with a coding
(``otters.snn.mttfs.settings.configure_coding`` / ``checkpoint.load_coding``) every population of the spiking BERT, the
stored K / V included, is a :class:`MaskedFiring`: a neuron at level q sends one spike at step
k = T - |q - m| / s in the positive (q > m) or negative (q < m) sub-population, or stays silent. A
stage integrates ``polarity * a_k`` and adds sum_i m w_ij back digitally (``otters.snn.synapse.masked_accumulate``);
K / V levels are decoded as m + polarity * s * (T - k).

Fire modes. "event": the closed form ``MaskedPopulation.fire``. "threshold": comparisons only, with
the two threshold sets in the input's own units. If A_j is the plain-TTFS threshold of code j (the
least input whose offset code c = (q - qmin)/s reaches j: ``otters.snn.neuron``, exact in float32)
and c_m = (m - qmin)/s the code of the silent level, then for c = 1..T

    positive neuron fires at the first step k = T - c with x >= theta+_c = A_(c_m + c),   c in [k_dz + 1, T - c_m]
    negative neuron fires at the first step k = T - c with x <  theta-_c = A_(c_m - c + 1), c in [k_dz + 1, c_m]

since q >= m + s c <=> c(x) >= c_m + c and q <= m - s c <=> c(x) < c_m - c + 1. theta+ rises with c and
theta- falls with c, so the crossed steps of each sub-population form a prefix of the window and the
first crossing is the largest satisfied c: the spike encodes the dead-zone level, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from otters.errors import OttersError
from otters.quant.deadzone import DeadZoneQuantizer
from otters.snn.bert.stages import PopulationView
from otters.snn.mttfs.calibrate import calibrate_silent
from otters.snn.mttfs.names import kv_names, population_names
from otters.snn.mttfs.settings import zero_level
from otters.snn.neuron import (
    FiringPopulation,
    MaskedPopulation,
    StepThresholds,
    accumulator_thresholds,
    masked_population,
    population_from_quantizer,
    value_thresholds,
)


@dataclass(eq=False)
class MaskedFiring(PopulationView):
    """An M-TTFS population of the spiking BERT and how it fires (the :class:`Firing` interface).

    ``pop``: the :class:`MaskedPopulation` (silent level m, dead zone, polarity); ``base``: the plain
    TTFS population of the same quantizer; ``thresholds``: the plain-TTFS thresholds A_j in input
    units, from which the two M-TTFS threshold sets are taken (module docstring); ``potential``:
    accumulator -> V for a population fed by a spiking stage (None: fed by a digital block).
    """

    pop: MaskedPopulation
    base: FiringPopulation
    thresholds: StepThresholds
    potential: Callable[[torch.Tensor], torch.Tensor] | None = None

    def threshold_sets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(theta+, theta-) of shape (T,) or (channels, T), indexed by c - 1 for c = 1..T (+inf / -inf
        where the sub-population may not fire: beyond the level range or inside the dead zone)."""
        cached = self.__dict__.get("_sets")
        if cached is None:
            T, values = self.T, self.thresholds.values
            c_m = torch.div(self.pop.silent - self.base.code_offset, self.base.code_scale, rounding_mode="floor")
            c = torch.arange(1, T + 1)
            pos_idx, neg_idx = (c_m + c).clamp(1, T) - 1, (c_m - c + 1).clamp(1, T) - 1
            above = c >= self.pop.dead_zone + 1
            inf = torch.tensor(float("inf"), dtype=values.dtype)
            pos = torch.where(above & (c <= T - c_m), values[..., pos_idx], inf)
            neg = torch.where(above & (c <= c_m), values[..., neg_idx], -inf)
            cached = self.__dict__["_sets"] = (pos.contiguous(), neg.contiguous())
        return cached

    def spikes(self, x: torch.Tensor, mode: str = "event") -> tuple[torch.Tensor, torch.Tensor]:
        """(steps, polarity) of every neuron for input x (steps T and polarity 0: silent)."""
        if mode != "threshold":
            return self.pop.fire(x if self.potential is None else self.potential(x))
        pos, neg = self.threshold_sets()
        xs = x.to(pos.dtype).unsqueeze(-1)
        up = (xs >= pos).sum(dim=-1)  # crossed steps of the positive neuron (a prefix in c above k_dz)
        down = (xs < neg).sum(dim=-1)
        k = self.pop.dead_zone
        code = torch.where(up > 0, up + k, torch.where(down > 0, down + k, 0))
        polarity = torch.where(up > 0, 1, torch.where(down > 0, -1, 0))
        return (self.T - code).to(torch.int64), polarity.to(torch.int64)

    def steps(self, x: torch.Tensor, mode: str = "event") -> torch.Tensor:
        return self.spikes(x, mode)[0]

    def decode(self, steps: torch.Tensor, polarity: torch.Tensor) -> torch.Tensor:
        """Levels of spikes: m + polarity * s * (T - k)."""
        return self.pop.decode(steps, polarity)


def masked_value_firing(quantizer, name: str, silent) -> MaskedFiring:
    """An M-TTFS population fed by a digital block (thresholds in the value's units)."""
    base = population_from_quantizer(quantizer, name)
    return MaskedFiring(masked_population(quantizer, name, silent), base, value_thresholds(base))


def masked_accumulator_firing(quantizer, name: str, silent, potential: Callable, channels: int | None) -> MaskedFiring:
    """An M-TTFS population fed by a spiking stage (integer thresholds on that stage's accumulator)."""
    base = population_from_quantizer(quantizer, name)
    return MaskedFiring(masked_population(quantizer, name, silent), base,
                        accumulator_thresholds(base, potential, channels), potential)


class MaskedPopulations:
    """M-TTFS populations for every quantizer of a student, with their silent levels (what
    ``otters.snn.bert.convert.build_spiking_bert`` asks for each population; the plain TTFS
    counterpart is ``otters.snn.bert.stages.TtfsPopulations``).

    Used when ``coding`` is "mttfs" or "split" or the student has a dead zone (a plain TTFS network
    cannot silence a range of levels). Silent level of a quantizer, first found of: ``silent[module
    name]``; the quantizer's own (a dead-zone quantizer, from configure_coding or a checkpoint's
    coding.json); for "split", the level of 0; for "mttfs", the most frequent level on ``calibration``
    sentences; else qmin (plain TTFS's silent level; also the default of the stored K / V when uncalibrated).
    """

    masked = True

    def __init__(self, model: nn.Module, coding: str, calibration=None, silent: dict | None = None):
        self.module_names = {id(m): n for n, m in model.named_modules()}
        self.silent = {k: torch.as_tensor(v, dtype=torch.int64) for k, v in (silent or {}).items()}
        for name, module in model.named_modules():
            if name not in self.silent and isinstance(module, DeadZoneQuantizer):
                self.silent[name] = module.silent.detach().cpu().clone()
        if coding == "split":  # sign-split TTFS: every population silent at the level of 0
            modules = dict(model.named_modules())
            for name in population_names(model) + kv_names(model):
                self.silent.setdefault(name, zero_level(modules[name]))
        if coding != "mttfs":
            return
        firing = population_names(model)
        missing = [n for n in firing + kv_names(model) if n not in self.silent]
        if missing and calibration is not None:
            self.silent.update(calibrate_silent(model, calibration, missing))
        without = [n for n in firing if n not in self.silent]
        if without:
            raise OttersError("M-TTFS needs the silent level of every population: give calibration sentences "
                              "(the most frequent level on training data) or a student configured with "
                              f"configure_coding / a coding.json; missing for {', '.join(without[:3])}"
                              + (" ..." if len(without) > 3 else ""))

    def _silent(self, quantizer):
        name = self.module_names.get(id(quantizer))
        m = self.silent.get(name)
        if m is not None and m.dim() != 0:
            raise OttersError(f"{name}: the spiking BERT takes one silent level per layer, got per-channel levels")
        return m

    def value(self, quantizer, name: str) -> MaskedFiring:
        return masked_value_firing(quantizer, name, self._silent(quantizer))

    def accumulator(self, quantizer, name: str, potential: Callable, channels: int | None) -> MaskedFiring:
        return masked_accumulator_firing(quantizer, name, self._silent(quantizer), potential, channels)


def silent_ratios(activity, names=None) -> dict:
    """Silent-neuron ratios measured by a spiking BERT run (a :class:`BertActivity`): per population
    1 - spikes / neurons on real tokens, and overall (neuron-weighted) over ``names`` (default: every
    population except the stored K / V, the populations ``otters sparsity`` reports). Keys are the
    student's quantizer module names (``bert.`` + the spiking name)."""
    pops = [p for p in activity.populations.values()
            if (names is None and not p.name.endswith((".k_quant", ".v_quant"))) or (names is not None and p.name in names)]
    per = {_module_name(p.name): {"neurons": p.neurons, "spikes": p.spikes,
                                  "silent": 1.0 - p.spikes / p.neurons if p.neurons else 0.0} for p in pops}
    neurons = sum(p.neurons for p in pops)
    spikes = sum(p.spikes for p in pops)
    return {"overall": 1.0 - spikes / neurons if neurons else 0.0, "neurons": neurons, "spikes": spikes,
            "populations": per}


def _module_name(spiking_name: str) -> str:
    return f"bert.{spiking_name}"
