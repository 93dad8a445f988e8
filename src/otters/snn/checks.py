"""What a verification returns: one :class:`LayerCheck` per compared layer or stage, and the verdict.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 (lossless QNN -> SNN): the decoded
spike times of every population must equal the QNN's quantized levels, every digital readout must
be the same float, and no neuron may fire more than once. Filled by ``otters.snn.mlp.verify`` and
``otters.snn.bert.verify``; the one entry is :func:`otters.snn.verify`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from otters.snn.mlp.traces import SpikeTrace


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
