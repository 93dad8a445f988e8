"""Verification of a conversion: does the SNN reproduce the QNN's integer levels, bit for bit?

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 (lossless QNN -> SNN): the decoded
spike times of every population must equal the QNN's quantized levels, every digital readout must
be the same float, and no neuron may fire more than once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from otters.errors import OttersError
from otters.snn.tables import DeviceVariation
from otters.snn.traces import SpikeTrace


@dataclass
class LayerCheck:
    """One layer's comparison. ``max_diff``: max |level difference| (levels) or max |potential
    difference| (potential); ``mismatches``: values that differ (any bit); spike statistics for
    populations (``sparsity`` = fraction of silent neurons; None for a digital readout)."""

    name: str
    kind: str
    neurons: int
    max_diff: float
    mismatches: int
    spikes: int = 0
    max_spikes_per_neuron: int = 0
    sparsity: float | None = None
    population: str | None = None

    @property
    def exact(self) -> bool:
        return self.mismatches == 0 and self.max_spikes_per_neuron <= 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d["exact"] = self.exact
        if self.kind == "levels":
            d["max_diff"] = int(self.max_diff)
        return d


@dataclass
class VerifyResult:
    """Outcome of :func:`verify`: ``exact`` iff every layer matches and every neuron fired <= once."""

    exact: bool
    simulator: str
    samples: int
    layers: list[LayerCheck] = field(default_factory=list)
    traces: list[SpikeTrace] = field(default_factory=list)
    nominal_device: bool = True

    @property
    def max_level_diff(self) -> int:
        return max((int(c.max_diff) for c in self.layers if c.kind == "levels"), default=0)

    @property
    def max_potential_diff(self) -> float:
        return max((float(c.max_diff) for c in self.layers if c.kind == "potential"), default=0.0)

    @property
    def max_spikes_per_neuron(self) -> int:
        return max((c.max_spikes_per_neuron for c in self.layers), default=0)

    @property
    def first_inexact(self) -> str | None:
        """Name of the first layer that differs (None when exact)."""
        return next((c.name for c in self.layers if not c.exact), None)

    def to_dict(self) -> dict:
        return {
            "exact": self.exact,
            "simulator": self.simulator,
            "samples": self.samples,
            "nominal_device": self.nominal_device,
            "max_level_diff": self.max_level_diff,
            "max_potential_diff": self.max_potential_diff,
            "max_spikes_per_neuron": self.max_spikes_per_neuron,
            "first_inexact_layer": self.first_inexact,
            "layers": [c.to_dict() for c in self.layers],
            "traces": [t.to_dict() for t in self.traces],
        }


def _compare(name, kind, qnn_values, record) -> LayerCheck:
    ref, got = qnn_values, record.values
    if ref.shape != got.shape:
        raise OttersError(f"{name}: QNN gives shape {tuple(ref.shape)} but the SNN {tuple(got.shape)}")
    if kind == "levels":
        diff = (got.to(torch.int64) - ref.to(torch.int64)).abs()
        mismatches = int((diff != 0).sum())
    else:
        diff = (got.to(torch.float64) - ref.to(torch.float64)).abs()
        mismatches = int((got != ref).sum())  # bit-equality of the float32 readouts
    max_diff = float(diff.max()) if diff.numel() else 0.0
    neurons = int(got.shape[-1]) if got.dim() else 1
    check = LayerCheck(name, kind, neurons, max_diff, mismatches, population=record.population)
    counts = record.spikes_per_neuron()
    if counts is not None:
        check.spikes = int(counts.sum())
        check.max_spikes_per_neuron = int(counts.max()) if counts.numel() else 0
        check.sparsity = record.trace.sparsity if record.trace is not None else None
    return check


@torch.no_grad()
def verify(qnn, snn, inputs, simulator: str = "event", variation: DeviceVariation | None = None, dt: float | None = None) -> VerifyResult:
    """Run the QNN's integer inference and the SNN on ``inputs``; compare layer by layer.

    Returns a :class:`VerifyResult` (exact flag, per-layer max level difference, spikes per neuron,
    sparsity, spike traces; ``.to_dict()`` for JSON). ``variation`` draws a non-nominal chip (then
    inexactness is expected and measured).
    """
    from otters.snn.bert import SpikingBert

    if isinstance(snn, SpikingBert):  # whole-model BERT: inputs are token ids or a tokenised batch dict
        from otters.snn.bert_verify import verify_bert

        if simulator not in ("event", "threshold"):
            raise OttersError(f"a spiking BERT runs the event simulator or fire mode 'threshold', not {simulator!r}")
        batch = inputs if isinstance(inputs, dict) else {"input_ids": inputs}
        return verify_bert(qnn, snn, batch["input_ids"], batch.get("attention_mask"), batch.get("token_type_ids"),
                           fire_mode=simulator, variation=variation)
    from otters.snn.convert import reference_forward

    x = torch.as_tensor(inputs, dtype=torch.float32)
    reference = reference_forward(qnn, x)
    result = snn.run(x, simulator=simulator, variation=variation, dt=dt)
    if [(r.name, r.kind) for r in reference] != [(r.name, r.kind) for r in result.records]:
        raise OttersError(
            "the SNN's layers " + ", ".join(r.name for r in result.records) + " do not match the QNN's "
            + ", ".join(r.name for r in reference) + "; convert this QNN with otters.convert"
        )
    layers = [_compare(ref.name, ref.kind, ref.values, rec) for ref, rec in zip(reference, result.records)]
    samples = x.numel() // max(int(x.shape[-1]), 1)
    return VerifyResult(
        exact=all(c.exact for c in layers),
        simulator=result.simulator,
        samples=samples,
        layers=layers,
        traces=result.traces,
        nominal_device=variation is None or variation.is_nominal,
    )
