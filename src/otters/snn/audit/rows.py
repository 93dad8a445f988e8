"""What an operation audit returns: typed counts per block (:class:`AuditRow`), their totals
(:class:`Audit`), and the hardware realisation counted (:class:`AuditSettings`; docs/audit.md).

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3-4. Filled by ``otters.snn.audit.counts``
with the rules of ``otters.snn.audit.rules``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from otters.errors import OttersError

COUNT_KEYS = ("adds", "subs", "mults", "shifts", "compares", "device_reads", "adc", "spikes")
OP_KINDS = ("adds", "subs", "mults", "shifts", "compares")
ADC_PLACEMENTS = ("column", "synapse", "spike")


@dataclass(frozen=True)
class AuditSettings:
    """Hardware realisation counted (docs/audit.md). ``column_adc_bits`` None: exact signed count of
    ``column_rows`` +-1 synapses, ceil(log2(2 rows + 1)) bits."""

    adc_per: str = "column"
    adc_bits: int = 8
    column_rows: int = 256
    column_adc_bits: int | None = None

    def __post_init__(self):
        if self.adc_per not in ADC_PLACEMENTS:
            raise OttersError(f"adc_per must be one of {', '.join(ADC_PLACEMENTS)}, got {self.adc_per!r}")
        if self.adc_bits < 1 or self.column_rows < 1:
            raise OttersError("adc_bits and column_rows must be >= 1")

    @property
    def column_bits(self) -> int:
        return self.column_adc_bits or math.ceil(math.log2(2 * self.column_rows + 1))


@dataclass
class AuditRow:
    """Counts of one block. ``ops``: kind -> {dtype: count}; ``adc``: bits -> conversions."""

    block: str
    path: str
    part: str
    layer: int | None = None
    window: int | None = None
    ops: dict = field(default_factory=dict)
    device_reads: float = 0.0
    adc: dict = field(default_factory=dict)
    spikes: float = 0.0
    info: dict = field(default_factory=dict)

    def op(self, kind: str, dtype: str, count: float) -> "AuditRow":
        if count:
            table = self.ops.setdefault(kind, {})
            table[dtype] = table.get(dtype, 0.0) + float(count)
        return self

    def convert(self, bits: int, count: float) -> "AuditRow":
        if count:
            self.adc[int(bits)] = self.adc.get(int(bits), 0.0) + float(count)
        return self

    def counts(self) -> dict:
        """The eight totals (adds, subs, mults, shifts, compares, device_reads, adc, spikes)."""
        out = {k: float(sum(self.ops.get(k, {}).values())) for k in OP_KINDS}
        out.update(device_reads=float(self.device_reads), adc=float(sum(self.adc.values())), spikes=float(self.spikes))
        return out

    def to_dict(self) -> dict:
        return {"block": self.block, "path": self.path, "part": self.part, "layer": self.layer, "window": self.window,
                **self.counts(), "dtypes": {k: dict(v) for k, v in self.ops.items()},
                "adc_bits": {str(b): c for b, c in self.adc.items()}, **self.info}


@dataclass
class Audit:
    """All rows of one audit; totals per path (spiking, digital)."""

    rows: list[AuditRow]
    settings: AuditSettings
    sentences: int
    tokens: int
    model: dict = field(default_factory=dict)

    def totals(self, path: str) -> dict:
        out = {k: 0.0 for k in COUNT_KEYS}
        for row in self.rows:
            if row.path == path:
                for k, v in row.counts().items():
                    out[k] += v
        return out

    def to_dict(self) -> dict:
        return {"model": self.model, "settings": self.settings.__dict__, "sentences": self.sentences,
                "tokens": self.tokens, "spiking": self.totals("spiking"), "digital": self.totals("digital"),
                "blocks": [r.to_dict() for r in self.rows]}


def int_type(max_abs: float) -> str:
    """Integer type holding +-max_abs: ceil(log2(max_abs + 1)) + 1 bits, rounded up to whole bytes."""
    bits = math.ceil(math.log2(max(max_abs, 1) + 1)) + 1
    return f"int{8 * math.ceil(bits / 8)}"
