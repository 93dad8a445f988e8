"""M-TTFS conversion: silent state = the most frequent level, lossless; with a dead zone, equal to the dead-zone QNN.

Source: Matterhorn (arXiv 2601.22876), M-TTFS and the dead zone, on Otters' TTFS timing and device
(ICLR 2026, Prop. 1). Design and proof: docs/matterhorn.md.

    snn = convert(qnn, coding="mttfs", calibration=x_train)        # per-layer masks from data
    snn = convert(qnn, coding="mttfs", calibration=x_train, granularity="channel")
    apply_dead_zone(qnn, 3); snn = convert(qnn, coding="mttfs")     # the SNN equals the dead-zone QNN
    verify(qnn, snn, x)                                             # bit-exact, both simulators

The whole spiking BERT with M-TTFS: ``otters.snn.bert.convert(student, coding="mttfs")``
(``otters.snn.bert_mttfs``). Stage by stage: :func:`otters.snn.synapse.mttfs_accumulator` (the integration half of a
stage through M-TTFS spikes, for ``SpikingStage.set_accumulator``) and
:func:`otters.snn.neuron.masked_population` (the firing half). :func:`configure_coding` sets up
a student for training with a dead zone (what ``otters distill --coding/--dead-zone`` calls);
:func:`save_coding` / :func:`load_coding` / :func:`load_coded_student` carry it with a checkpoint.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from otters.device import PAPER_CURVE, DecayCurve
from otters.errors import OttersError
from otters.quant import LSQQuantizer
from otters.quant.deadzone import DeadZoneQuantizer, apply_dead_zone, dead_zone_state, load_dead_zone_state
from otters.snn.mlp.convert import convert_mlp, reference_forward
from otters.snn.mlp.network import SpikingNetwork
from otters.snn.mttfs_sim import simulate_event_masked, simulate_tick_masked
from otters.snn.mttfs_stats import record_levels
from otters.snn.neuron import MaskedPopulation, masked_population
from otters.snn.tables import DeviceVariation

CODINGS = ("ttfs", "mttfs")
GRANULARITIES = ("layer", "channel")
CODING_FILE = "coding.json"


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


def population_names(model: nn.Module) -> list[str]:
    """Module names of the quantizers whose levels fire as spike trains, in firing order.

    QuantMLP: its quantizer_names(); nn.Sequential: its LSQQuantizers; the BERT student (anything
    with ``spiking_stages()``): the input quantizer of every spiking stage (the attention input feeding
    Q, K, V once; Q; the attention probabilities; O, FFN1, FFN2 and pooler inputs). K and V (stored
    operands, not spikes) and weight quantizers are not populations.
    """
    if hasattr(model, "quantizer_names"):
        return list(model.quantizer_names())
    if hasattr(model, "spiking_stages"):
        ids = {id(m): n for n, m in model.named_modules()}
        names = []
        for stage in model.spiking_stages():
            name = ids[id(stage.input_quant)]
            if name not in names:
                names.append(name)
        return names
    if isinstance(model, nn.Sequential):
        return [n for n, m in model.named_children() if isinstance(m, LSQQuantizer)]
    raise OttersError(f"cannot tell the firing populations of a {type(model).__name__}; pass the quantizer names")


def _default_forward(model):
    if hasattr(model, "integer_forward"):
        return lambda x: model.integer_forward(x)
    return lambda x: reference_forward(model, x)


@torch.no_grad()
def calibrate_silent_levels(model: nn.Module, batches, granularity: str = "layer", names=None, forward=None,
                            mask_fn=None) -> dict:
    """{quantizer name: silent level(s)}: the most frequent level of each firing population on ``batches``.

    Matterhorn's mask, calibrated on (training) data. ``batches``: one input tensor or an iterable
    of them (or of whatever ``forward(batch)`` takes; default the QNN's integer inference).
    ``granularity``: "layer" -> int, "channel" -> int64 tensor (one per neuron of the last dim).
    """
    if granularity not in GRANULARITIES:
        raise OttersError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    names = population_names(model) if names is None else list(names)
    forward = forward or _default_forward(model)
    if isinstance(batches, torch.Tensor):
        batches = [batches]
    was_training = model.training
    model.eval()
    try:
        with record_levels(model, names, per_channel=granularity == "channel", mask_fn=mask_fn) as hists:
            for batch in batches:
                forward(batch)
    finally:
        model.train(was_training)
    empty = [n for n, h in hists.items() if h.total == 0]
    if empty:
        raise OttersError(f"calibration saw no levels of {', '.join(empty)}; give inputs that reach every layer")
    out = {}
    for n, h in hists.items():
        m = h.silent_level(granularity)
        out[n] = torch.as_tensor(m, dtype=torch.int64)
    return out


def _has_dead_zone(qnn: nn.Module) -> bool:
    return any(isinstance(m, DeadZoneQuantizer) and m.dead_zone > 0 for m in qnn.modules())


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
    elif need:
        if calibration is None:
            raise OttersError("M-TTFS needs calibration inputs (the silent level is the most frequent level on "
                              "training data) or explicit silent levels for " + ", ".join(need))
        chosen.update({n: m for n, m in calibrate_silent_levels(qnn, calibration, granularity, names=need).items()})
    masked = {p.name: masked_population(modules[p.name], p.name, chosen.get(p.name)) for p in pops}
    stages = [s if s.out is None else replace(s, out=masked[s.out.name]) for s in base.stages]
    return MaskedSpikingNetwork(masked[base.encoder.name], stages, base.curve, base.adc_bits, base.input_name)


def configure_coding(model: nn.Module, coding: str = "ttfs", dead_zone: int = 0, silent="zero") -> dict:
    """Set a QNN (QuantMLP or BERT student) up for training/inference with ``coding`` and a dead zone.

    coding "ttfs" + dead_zone 0: nothing to do (plain QNN). "mttfs" + 0 with ``silent`` "zero": nothing
    in the QNN either (M-TTFS is lossless; masks are calibrated at conversion). dead_zone k > 0: every
    firing population (:func:`population_names`) gets a dead zone of half-width k around its silent
    level: for "mttfs", ``silent`` ("zero" = the level of the value 0, data-free and resume-safe, or a
    dict from :func:`calibrate_silent_levels` / ``otters.snn.bert_mttfs.calibrate_silent``); for
    "ttfs", qmin. With "mttfs" and a dict, every quantizer it names is given its level, with k = 0 where
    no dead zone applies (the stored K / V, or k = 0 itself): a dead-zone quantizer with k = 0 is the
    plain LSQ quantizer carrying its silent level, so :func:`save_coding` records the calibrated mask.
    The coding is remembered on the model (:func:`model_coding`). Returns the JSON-ready state.
    """
    if coding not in CODINGS:
        raise OttersError(f"coding must be one of {', '.join(CODINGS)}, got {coding!r}")
    populations = population_names(model)
    if dead_zone:
        apply_dead_zone(model, dead_zone, "qmin" if coding == "ttfs" else silent, names=populations)
    if coding == "mttfs" and isinstance(silent, dict):
        rest = [n for n in silent if dead_zone == 0 or n not in populations]
        if rest:
            apply_dead_zone(model, 0, silent, names=rest)
    model.otters_coding = coding
    return {"coding": coding, "dead_zone": int(dead_zone), "quantizers": dead_zone_state(model)}


def model_coding(model: nn.Module) -> str:
    """The coding a model was configured with (:func:`configure_coding`, :func:`load_coding`); "ttfs" otherwise."""
    return getattr(model, "otters_coding", None) or "ttfs"


def save_coding(model: nn.Module, directory, coding: str | None = None) -> Path:
    """Write ``coding.json`` beside a checkpoint: coding name (default the model's own) and every
    dead-zone quantizer's k and m (silent levels of M-TTFS included)."""
    from otters.io import atomic_write_json

    path = Path(directory) / CODING_FILE
    state = dead_zone_state(model)
    k = max((v["dead_zone"] for v in state.values()), default=0)
    atomic_write_json(path, {"coding": coding or model_coding(model), "dead_zone": k, "quantizers": state})
    return path


def load_coding(model: nn.Module, directory) -> dict:
    """Re-apply a checkpoint's ``coding.json`` (if present) to a freshly loaded model; returns its content."""
    from otters.io import read_json

    path = Path(directory) / CODING_FILE
    if not path.is_file():
        return {"coding": "ttfs", "dead_zone": 0, "quantizers": {}}
    data = read_json(path)
    coding = data.get("coding", "ttfs")
    if coding not in CODINGS:
        raise OttersError(f"{path}: unknown coding {coding!r}; expected one of {', '.join(CODINGS)}")
    load_dead_zone_state(model, data.get("quantizers", {}))
    model.otters_coding = coding
    return data


def load_coded_student(directory):
    """A student checkpoint (``otters.models.load_student``) with its ``coding.json`` applied, if any:
    what every command that runs a checkpoint loads (a dead-zone student is its dead-zone QNN)."""
    from otters.models import load_student

    model = load_student(directory)
    load_coding(model, directory)
    return model
