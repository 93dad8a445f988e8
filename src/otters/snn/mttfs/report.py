"""Silent-neuron ratios of a QNN's firing populations under plain TTFS, M-TTFS, and M-TTFS with dead zones.

Source: Matterhorn (arXiv 2601.22876): M-TTFS moves the silent state to the most frequent level
(lossless), the dead zone k silences the levels within k of it (lossy; "95.2 % silent at k = 3").

For every firing population (:func:`otters.snn.mttfs.names.population_names`) and overall (weighted by
neuron count, padded tokens excluded when a mask is given):

- ``ttfs``: P(q = qmin) under the offset code (silent = the lowest level);
- ``split``: P(q = level of 0) under sign-split TTFS (two sub-populations, silence at zero);
- ``mttfs``: P(q = m), m calibrated (most frequent level, per layer or per channel), or the model's
  own m where it carries one (a student configured with ``configure_coding`` / a ``coding.json``);
- ``dead_zone[k]``: P(q = m) in the dead-zone QNN (levels with |q - m| <= k collapse onto m). It is
  measured by running the QNN with the dead zones applied, so downstream populations see the
  upstream dead zones, as they would in the spiking network. ``metrics[k]``: the optional
  ``evaluate(model)`` of that QNN (no fine-tuning: train with the dead zone for the real trade-off).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from otters.coding.mttfs import check_dead_zone
from otters.errors import OttersError
from otters.quant.deadzone import DeadZoneQuantizer, apply_dead_zone
from otters.snn.mttfs.calibrate import calibrate_silent_levels
from otters.snn.mttfs.names import population_names
from otters.snn.mttfs.settings import GRANULARITIES, zero_level
from otters.snn.mttfs.stats import record_levels


@dataclass
class PopulationSparsity:
    """One population: level range, neurons recorded (samples x neurons), silent level(s), silent ratios."""

    name: str
    qmin: int
    qmax: int
    neurons: int
    silent: int | list
    ttfs: float
    mttfs: float
    dead_zone: dict = field(default_factory=dict)
    histogram: list = field(default_factory=list)
    dead_zone_histograms: dict = field(default_factory=dict)
    split: float = 0.0


@dataclass
class SparsityReport:
    populations: list[PopulationSparsity]
    dead_zones: list[int]
    granularity: str
    metrics: dict = field(default_factory=dict)

    def overall(self) -> dict:
        """Neuron-weighted silent ratios over all populations: ttfs, split, mttfs, dead_zone {k: ratio}."""
        total = sum(p.neurons for p in self.populations)

        def mean(get):
            return sum(get(p) * p.neurons for p in self.populations) / total if total else 0.0

        return {"neurons": total, "ttfs": mean(lambda p: p.ttfs), "split": mean(lambda p: p.split),
                "mttfs": mean(lambda p: p.mttfs),
                "dead_zone": {k: mean(lambda p, k=k: p.dead_zone[k]) for k in self.dead_zones}}

    def to_dict(self) -> dict:
        return {
            "granularity": self.granularity,
            "dead_zones": self.dead_zones,
            "overall": self.overall(),
            "populations": [vars(p) for p in self.populations],
            "metrics": self.metrics,
        }


def _run(model, batches, forward, names, per_channel, batch_mask):
    holder = {"fn": None}
    mask_fn = (lambda levels: holder["fn"](levels)) if batch_mask is not None else None
    with torch.no_grad(), record_levels(model, names, per_channel, mask_fn) as hists:
        for batch in batches:
            if batch_mask is not None:
                holder["fn"] = batch_mask(batch)
            forward(model, batch)
    return hists


def sparsity_report(model, batches, forward=None, names=None, dead_zones=(0,), granularity: str = "layer",
                    calibration=None, batch_mask=None, evaluate=None) -> SparsityReport:
    """Measure silent ratios of ``model`` (eval mode) on ``batches`` (a list, re-used per dead zone).

    ``forward(model, batch)``: runs one batch (default: ``model.integer_forward(batch)``, a QuantMLP);
    ``calibration``: batches for the silent levels (default ``batches``; use training data);
    ``batch_mask(batch) -> mask_fn``: selects real entries (e.g. ``token_mask_fn(attention_mask)``);
    ``evaluate(model) -> dict``: a task metric per dead zone. The model itself is not changed.
    """
    if granularity not in GRANULARITIES:
        raise OttersError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    zones = sorted({check_dead_zone(k) for k in dead_zones} | {0})
    batches = list(batches)
    if not batches:
        raise OttersError("sparsity needs at least one input batch")
    forward = forward or (lambda m, b: m.integer_forward(b))
    names = population_names(model) if names is None else list(names)
    model = model.eval()
    per_channel = granularity == "channel"
    state = {"fn": None}

    def calibrate_forward(batch):
        return forward(model, batch)

    def calibrate_mask(levels):
        return state["fn"](levels) if state["fn"] is not None else None

    calib = list(calibration) if calibration is not None else batches
    source = calib if batch_mask is None else _with_mask(calib, state, batch_mask)
    silent = own_silent_levels(model, names)  # a configured (checkpoint) mask is the model's own
    need = [n for n in names if n not in silent]
    if need:
        silent.update(calibrate_silent_levels(model, source, granularity, need, calibrate_forward,
                                              mask_fn=None if batch_mask is None else calibrate_mask))
    hists = _run(model, batches, forward, names, per_channel, batch_mask)
    pops, metrics = [], {}
    for n in names:
        h = hists[n]
        m = silent[n]
        mm = m.numpy() if m.dim() else int(m)
        counts = [int(v) for v in h.layer_counts]
        pops.append(PopulationSparsity(n, h.qmin, h.qmax, h.total, m.tolist(), h.ttfs_silent_ratio,
                                       h.silent_ratio(mm), {0: h.silent_ratio(mm)}, counts, {0: counts},
                                       split=h.silent_ratio(int(zero_level(model.get_submodule(n))))))
    if evaluate is not None:
        metrics[0] = evaluate(model)
    for k in zones:
        if k == 0:
            continue
        variant = copy.deepcopy(model)
        targets = [n for n in names if not getattr(variant.get_submodule(n), "sign_mode", False)]
        apply_dead_zone(variant, k, {n: silent[n] for n in targets}, names=targets)
        dz_hists = _run(variant, batches, forward, names, per_channel, batch_mask)
        for p in pops:
            m = silent[p.name]
            p.dead_zone[k] = dz_hists[p.name].silent_ratio(m.numpy() if m.dim() else int(m))
            p.dead_zone_histograms[k] = [int(v) for v in dz_hists[p.name].layer_counts]
        if evaluate is not None:
            metrics[k] = evaluate(variant)
    return SparsityReport(pops, zones, granularity, metrics)


def own_silent_levels(model, names) -> dict:
    """{name: silent level} of the named quantizers that carry one (dead-zone quantizers, k >= 0: set
    by configure_coding or a checkpoint's coding.json); the SNN fires with exactly these."""
    out = {}
    for n in names:
        q = model.get_submodule(n)
        if isinstance(q, DeadZoneQuantizer):
            out[n] = q.silent.detach().cpu().clone()
    return out


def _with_mask(batches, state, batch_mask):
    """Yield batches, setting the current mask before each one is run."""
    for batch in batches:
        state["fn"] = batch_mask(batch)
        yield batch
