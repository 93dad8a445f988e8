"""Energy of a list of workloads: E = computation + data movement + analog parts.

    E = sum_ops n_op * e_op(dtype)                                  (computation)
      + sum_levels bits_level * e_level                              (data movement)
      + n_dev * e_dev + sum_b n_adc(b) * FoM * 2^b + n_cell * e_cell + n_row * e_row   (analog)

with e_level per bit: register file, PE-local SRAM and global SRAM (64-bit access energy at their
capacity / 64), DRAM, and NoC per bit-hop. Structure after Yan, Bai, Tang, Wong, "Reconsidering
the energy efficiency of spiking neural networks", arXiv 2409.08290 (computation + data movement
across a memory hierarchy and a network-on-chip); analog parts after Otters (ICLR 2026, device +
ADC) and Matterhorn (arXiv 2601.22876, memristive crossbar). Constants: ``otters.energy.costs``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from otters.energy.costs import CostTable, load_table
from otters.energy.workload import DATA_CLASSES, LEVELS, OP_FIELDS, PARTS, Workload, workload_from_counts
from otters.errors import OttersError

PJ_PER_MJ = 1e9


@dataclass(frozen=True)
class Hardware:
    """The machine the workloads run on (all numbers are documented assumptions, docs/energy.md).

    local_sram_kb: PE-local SRAM (weights, K/V, membrane state) capacity that sets its access energy.
    global_sram_kb: global activation/spike buffer capacity.
    noc_hops: mean router hops per activation or spike message (producer and consumer cores are
    near neighbours on a mesh). onchip_weight_mb: weights stay resident on chip when the whole
    model's weights fit; otherwise they stream from DRAM ``dram_weight_passes`` = "once" per
    inference (weight tile resident while all tokens pass) or "per_token".
    spike_timestamp: address-event messages carry the spike's time step as well as its address.
    adc_per: where Otters' ADC sits. "synapse": one conversion per synaptic event (the device
    output is the fused product weight x decay, paper Sec. 3), accumulated digitally; "spike": one
    decay reading per input spike shared by the fan-out, weight sign applied digitally; "column":
    the device currents of a column of ``column_rows`` synapses sum on the output line and one
    conversion per output, row tile and active time step reads the sum (analog accumulation).
    adc_bits: resolution of a per-synapse / per-spike reading (the contract's 8 bits).
    column_adc_bits: resolution of a column reading; None = exact recovery of the +-1-weight sum of
    up to ``column_rows`` inputs at one step (reference scaled by the known O(t_k)):
    ceil(log2(2 * rows + 1)).
    xbar_*: Matterhorn MSU memristive crossbar size, cells per weight (differential pair), ADC bits
    (None = exact: the bit line integrates a whole window, +-rows * T levels); its periphery:
    ``xbar_driver_pj`` (DAC / word-line driver per activation, on top of the line's C V^2 from the
    cost table, scaled by xbar_cols / 256) and ``xbar_sense_pj`` (sense amplifier / sample-and-hold
    per column conversion). Model: ``otters.energy.msu``.
    """

    local_sram_kb: float = 32.0
    global_sram_kb: float = 1024.0
    noc_hops: float = 2.0
    onchip_weight_mb: float = 16.0
    dram_weight_passes: str = "once"
    spike_timestamp: bool = True
    adc_bits: int = 8
    adc_per: str = "column"
    column_rows: int = 256
    column_adc_bits: int | None = None
    xbar_rows: int = 256
    xbar_cols: int = 256
    xbar_cells_per_weight: int = 2
    xbar_adc_bits: int | None = None
    xbar_driver_pj: float = 0.0  # assumption: the line's C V^2 dominates a 1-bit driver (docs/matterhorn.md)
    xbar_sense_pj: float = 0.001  # ISAAC (ISCA 2016) S+H: 10 uW for 1024 samplers at 10 MHz ~ 1 fJ

    def __post_init__(self) -> None:
        if self.dram_weight_passes not in ("once", "per_token"):
            raise OttersError(f"dram_weight_passes must be 'once' or 'per_token', got {self.dram_weight_passes!r}")
        if self.adc_per not in ("synapse", "spike", "column"):
            raise OttersError(f"adc_per must be 'synapse', 'spike' or 'column', got {self.adc_per!r}")
        for name in ("local_sram_kb", "global_sram_kb", "onchip_weight_mb"):
            if not getattr(self, name) > 0:
                raise OttersError(f"hardware {name} must be > 0, got {getattr(self, name)}")
        if self.noc_hops < 0:
            raise OttersError(f"hardware noc_hops must be >= 0, got {self.noc_hops}")
        for name in ("xbar_driver_pj", "xbar_sense_pj"):
            if not getattr(self, name) >= 0:
                raise OttersError(f"hardware {name} must be >= 0 pJ, got {getattr(self, name)}")
        for name in ("adc_bits", "column_rows", "column_adc_bits", "xbar_rows", "xbar_cols", "xbar_cells_per_weight", "xbar_adc_bits"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise OttersError(f"hardware {name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, d: dict) -> "Hardware":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise OttersError(f"unknown hardware settings {sorted(unknown)}; known: {sorted(known)}")
        default = cls()
        for key, value in d.items():
            ref = getattr(default, key)
            if isinstance(ref, bool) or isinstance(ref, str):
                ok = type(value) is type(ref)
            else:  # numbers; the optional ADC widths may be null
                ok = (value is None and ref is None) or (isinstance(value, (int, float)) and not isinstance(value, bool))
            if not ok:
                raise OttersError(f"hardware setting {key!r} = {value!r} has the wrong type (default: {ref!r})")
        return replace(default, **d)

    def level_pj_per_bit(self, table: CostTable) -> dict[str, float]:
        """Energy per bit at each memory level (noc: per bit-hop)."""
        return {
            "reg": table.value("reg_bit"),
            "local": table.sram_pj_per_bit(self.local_sram_kb * 1024),
            "global": table.sram_pj_per_bit(self.global_sram_kb * 1024),
            "dram": table.dram_pj_per_bit,
            "noc": table.value("noc_bit_hop"),
        }


@dataclass
class StageEnergy:
    """Energy of one stage in pJ, split into computation, analog, and movement by level and data class."""

    name: str
    part: str
    compute_pj: float
    analog_pj: float
    movement_pj: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def movement_total_pj(self) -> float:
        return float(sum(sum(row.values()) for row in self.movement_pj.values()))

    @property
    def total_pj(self) -> float:
        return self.compute_pj + self.analog_pj + self.movement_total_pj


@dataclass
class EnergyReport:
    """Energy of one model per inference (of whatever the workloads cover, e.g. one attention block)."""

    model: str
    table: str
    stages: list[StageEnergy]
    workloads: list[Workload] = field(default_factory=list)

    @property
    def total_mj(self) -> float:
        return sum(s.total_pj for s in self.stages) / PJ_PER_MJ

    def parts(self) -> dict[str, float]:
        """A partition of the total in mJ: computation of FC, QKV, attention, norms; data movement; analog."""
        out = {p: 0.0 for p in PARTS}
        out.update(data_movement=0.0, analog=0.0)
        for s in self.stages:
            out[s.part] += s.compute_pj / PJ_PER_MJ
            out["data_movement"] += s.movement_total_pj / PJ_PER_MJ
            out["analog"] += s.analog_pj / PJ_PER_MJ
        return out

    def blocks(self) -> dict[str, float]:
        """Per-part totals in mJ including each part's own data movement and analog energy (paper's FC / QKV columns)."""
        out = {p: 0.0 for p in PARTS}
        for s in self.stages:
            out[s.part] += s.total_pj / PJ_PER_MJ
        return out

    def categories(self, part: str | None = None) -> dict[str, float]:
        """mJ by category (compute, analog, movement per level) over all stages or one part."""
        out: dict[str, float] = {"compute": 0.0, "analog": 0.0}
        out.update({f"move:{lv}": 0.0 for lv in LEVELS})
        for s in self.stages:
            if part is not None and s.part != part:
                continue
            out["compute"] += s.compute_pj / PJ_PER_MJ
            out["analog"] += s.analog_pj / PJ_PER_MJ
            for row in s.movement_pj.values():
                for lv, pj in row.items():
                    out[f"move:{lv}"] += pj / PJ_PER_MJ
        return out

    def by_data(self) -> dict[str, float]:
        """Data-movement mJ per data class (weights, activations, spikes, state, kv)."""
        out = {d: 0.0 for d in DATA_CLASSES}
        for s in self.stages:
            for data, row in s.movement_pj.items():
                out[data] += sum(row.values()) / PJ_PER_MJ
        return out

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "table": self.table,
            "total_mj": self.total_mj,
            "parts": self.parts(),
            "blocks": self.blocks(),
            "by_data": self.by_data(),
            "stages": [asdict(s) | {"total_pj": s.total_pj} for s in self.stages],
        }


def stage_energy(w: Workload, table: CostTable, hw: Hardware) -> StageEnergy:
    """Energy of one workload (equation in the module docstring)."""
    compute = 0.0
    for kind in OP_FIELDS:
        for dtype, count in getattr(w, kind).items():
            compute += count * table.op_pj(kind, dtype)
    analog = w.device_reads * table.value("device_read")
    analog += sum(count * table.adc_pj(bits) for bits, count in w.adc.items())
    analog += w.xbar_cells * table.value("xbar_cell_read") + w.xbar_sense * hw.xbar_sense_pj
    analog += w.xbar_rows * (table.value("xbar_row_drive") * hw.xbar_cols / 256 + hw.xbar_driver_pj)  # otters.energy.msu
    per_bit = hw.level_pj_per_bit(table)
    movement = {data: {lv: bits * per_bit[lv] for lv, bits in row.items()} for data, row in w.moved.items()}
    return StageEnergy(w.name, w.part, compute, analog, movement)


def evaluate(workloads: list[Workload], table: CostTable | str = "22nm", hw: Hardware | None = None, model: str = "") -> EnergyReport:
    """Energy report of ``workloads`` under cost ``table`` and ``hw`` (defaults: 22 nm, :class:`Hardware`)."""
    table = load_table(table) if isinstance(table, str) else table
    hw = hw or Hardware()
    return EnergyReport(model, table.name, [stage_energy(w, table, hw) for w in workloads], list(workloads))


def energy_from_counts(
    counts: dict[str, dict],
    table: CostTable | str = "22nm",
    hw: Hardware | None = None,
    *,
    dtypes: dict[str, str] | None = None,
    spike_bits: int = 20,
    model: str = "",
) -> EnergyReport:
    """Energy from audited counts: ``counts`` maps a stage name to a dict with keys adds, subs, mults,
    shifts, compares, device_reads, adc, spikes (optionally part, moved); see
    :func:`otters.energy.workload.workload_from_counts` for the units and defaults.
    """
    if not isinstance(counts, dict) or not counts:
        raise OttersError("counts must be a non-empty mapping of stage name -> counts dict")
    hw = hw or Hardware()
    workloads = []
    for name, c in counts.items():
        if not isinstance(c, dict):
            raise OttersError(f"counts for stage {name!r} must be a dict, got {type(c).__name__}")
        workloads.append(
            workload_from_counts(name, c, dtypes=dtypes, adc_bits=hw.adc_bits, spike_bits=spike_bits, noc_hops=hw.noc_hops)
        )
    return evaluate(workloads, table, hw, model)
