"""The energy model's input: a plain, typed description of what one stage of a network does.

A :class:`Workload` counts, for one stage (e.g. ``ffn1``) of one part (``FC``, ``QKV``,
``attention``, ``norms``): digital operations by kind and data type, analog events (optoelectronic
device reads, ADC conversions by resolution, memristive crossbar cell reads and row drives), spikes,
and the bits moved per data class (weights, activations, spikes, state, kv) and memory level
(``reg``, ``local`` SRAM, ``global`` SRAM, ``dram``; ``noc`` counts bit-hops).

Workloads come from analytical builders (``otters.energy.architectures``) or, for trained models,
from operation audits and spike traces via :func:`workload_from_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otters.errors import OttersError

PARTS = ("FC", "QKV", "attention", "norms")
LEVELS = ("reg", "local", "global", "dram", "noc")
DATA_CLASSES = ("weights", "activations", "spikes", "state", "kv")
OP_FIELDS = ("adds", "subs", "mults", "shifts", "compares")
COUNT_KEYS = ("adds", "subs", "mults", "shifts", "compares", "device_reads", "adc", "spikes")


def _check_count(value: float, what: str) -> float:
    value = float(value)
    if not value >= 0.0 or value == float("inf"):
        raise OttersError(f"{what} must be a finite count >= 0, got {value}")
    return value


@dataclass
class Workload:
    """Counts of one stage for one inference. Op dicts map data type (``int16``, ``fp32``, ``int8x4``) -> count."""

    name: str
    part: str
    adds: dict[str, float] = field(default_factory=dict)
    subs: dict[str, float] = field(default_factory=dict)
    mults: dict[str, float] = field(default_factory=dict)
    shifts: dict[str, float] = field(default_factory=dict)
    compares: dict[str, float] = field(default_factory=dict)
    device_reads: float = 0.0
    adc: dict[int, float] = field(default_factory=dict)
    xbar_cells: float = 0.0
    xbar_rows: float = 0.0
    xbar_sense: float = 0.0
    spikes: float = 0.0
    moved: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise OttersError(f"stage {self.name!r}: part {self.part!r} is not one of {', '.join(PARTS)}")

    def op(self, kind: str, dtype: str, count: float) -> "Workload":
        """Add ``count`` operations of ``kind`` (adds, subs, mults, shifts, compares) on ``dtype``."""
        if kind not in OP_FIELDS:
            raise OttersError(f"unknown operation kind {kind!r}; use one of {', '.join(OP_FIELDS)}")
        count = _check_count(count, f"{self.name}: {kind}")
        if count:
            table = getattr(self, kind)
            table[dtype] = table.get(dtype, 0.0) + count
        return self

    def move(self, data: str, level: str, bits: float) -> "Workload":
        """Add ``bits`` moved for data class ``data`` at memory ``level`` (noc: bit-hops)."""
        if data not in DATA_CLASSES:
            raise OttersError(f"unknown data class {data!r}; use one of {', '.join(DATA_CLASSES)}")
        if level not in LEVELS:
            raise OttersError(f"unknown memory level {level!r}; use one of {', '.join(LEVELS)}")
        bits = _check_count(bits, f"{self.name}: bits moved")
        if bits:
            row = self.moved.setdefault(data, {})
            row[level] = row.get(level, 0.0) + bits
        return self

    def convert(self, bits: int, count: float) -> "Workload":
        """Add ``count`` ADC conversions of resolution ``bits``."""
        count = _check_count(count, f"{self.name}: ADC conversions")
        if count:
            self.adc[int(bits)] = self.adc.get(int(bits), 0.0) + count
        return self

    def total_ops(self, kind: str) -> float:
        return float(sum(getattr(self, kind).values()))

    def bits_at(self, level: str) -> float:
        return float(sum(row.get(level, 0.0) for row in self.moved.values()))

    def to_dict(self) -> dict:
        d = {k: dict(getattr(self, k)) for k in OP_FIELDS}
        d.update(
            name=self.name,
            part=self.part,
            device_reads=self.device_reads,
            adc={str(b): c for b, c in self.adc.items()},
            xbar_cells=self.xbar_cells,
            xbar_rows=self.xbar_rows,
            xbar_sense=self.xbar_sense,
            spikes=self.spikes,
            moved={k: dict(v) for k, v in self.moved.items()},
        )
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Workload":
        w = cls(name=str(d["name"]), part=str(d["part"]))
        for kind in OP_FIELDS:
            for dtype, count in (d.get(kind) or {}).items():
                w.op(kind, dtype, count)
        w.device_reads = _check_count(d.get("device_reads", 0.0), "device_reads")
        for bits, count in (d.get("adc") or {}).items():
            w.convert(int(bits), count)
        w.xbar_cells = _check_count(d.get("xbar_cells", 0.0), "xbar_cells")
        w.xbar_rows = _check_count(d.get("xbar_rows", 0.0), "xbar_rows")
        w.xbar_sense = _check_count(d.get("xbar_sense", 0.0), "xbar_sense")
        w.spikes = _check_count(d.get("spikes", 0.0), "spikes")
        for data, row in (d.get("moved") or {}).items():
            for level, bits in row.items():
                w.move(data, level, bits)
        return w


DEFAULT_COUNT_DTYPES = {"adds": "int16", "subs": "int16", "mults": "int8", "shifts": "int16", "compares": "int16"}


def workload_from_counts(
    name: str,
    counts: dict,
    *,
    part: str | None = None,
    dtypes: dict[str, str] | None = None,
    adc_bits: int = 8,
    spike_bits: int = 20,
    noc_hops: float = 2.0,
) -> Workload:
    """Adapter from an audit or trace dict to a :class:`Workload`.

    ``counts`` has keys among adds, subs, mults, shifts, compares (a number, typed by ``dtypes``,
    default int16 / int8 mults; or a dict dtype -> count), device_reads, adc (a number of
    ``adc_bits`` conversions, or a dict bits -> count), spikes, and optionally ``part`` and
    ``moved`` ({data: {level: bits}}). Spikes are charged as address-event messages of
    ``spike_bits`` (address + time): written to and read from the global spike buffer and carried
    ``noc_hops`` hops (Yan et al., arXiv 2409.08290: spikes move with their addresses and times).
    """
    unknown = set(counts) - set(COUNT_KEYS) - {"part", "moved", "name"}
    if unknown:
        raise OttersError(f"counts for {name!r}: unknown keys {sorted(unknown)}; known: {', '.join(COUNT_KEYS)}, part, moved")
    types = dict(DEFAULT_COUNT_DTYPES, **(dtypes or {}))
    w = Workload(name=name, part=str(counts.get("part", part or "FC")))
    for kind in OP_FIELDS:
        value = counts.get(kind, 0)
        if isinstance(value, dict):
            for dtype, count in value.items():
                w.op(kind, dtype, count)
        else:
            w.op(kind, types[kind], value)
    w.device_reads = _check_count(counts.get("device_reads", 0), f"{name}: device_reads")
    adc = counts.get("adc", 0)
    if isinstance(adc, dict):
        for bits, count in adc.items():
            w.convert(int(bits), count)
    else:
        w.convert(adc_bits, adc)
    spikes = _check_count(counts.get("spikes", 0), f"{name}: spikes")
    w.spikes = spikes
    if spikes:
        w.move("spikes", "global", 2 * spikes * spike_bits)
        w.move("spikes", "noc", spikes * spike_bits * noc_hops)
    for data, row in (counts.get("moved") or {}).items():
        for level, bits in row.items():
            w.move(data, level, bits)
    return w
