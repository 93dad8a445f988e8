"""The architectures the energy model knows, with the paper's published figures where there are any.

Paper figures: Otters (ICLR 2026) energy table, SST-2, one attention block per inference, 22 nm:
BERT 167.92 mJ (FC 50.35, QKV 8.41), Sorbet 12.34 (3.39, 1.08), SpikingLM 7.20 (2.09, 0.46),
Otters 4-bit KV 4.49, Otters 1-bit KV 4.06 (1.14, 0.33). The 1-bit QNN BERT total, 11.04 mJ, is
derived from the paper's "2.72x vs 1-bit QNN BERT" (4.06 x 2.72), not printed in its table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from otters.energy.architectures import build_bert, build_qnn, build_sorbet, build_spikelm
from otters.energy.architectures_ttfs import build_matterhorn, build_otters
from otters.energy.model import EnergyReport, Hardware, evaluate
from otters.energy.op_counts import Ctx, Geometry, get_geometry
from otters.energy.stats import FiringStats
from otters.energy.workload import Workload
from otters.errors import OttersError

DEFAULT_SEQ_LEN = 128  # padded max_seq_length of the standard GLUE fine-tuning recipe (docs/energy.md)


@dataclass(frozen=True)
class Architecture:
    name: str
    label: str
    builder: Callable[[Ctx], list[Workload]]
    weight_bits: float
    paper_total_mj: float | None = None
    paper_fc_mj: float | None = None
    paper_qkv_mj: float | None = None
    paper_derived: bool = False
    in_paper_table: bool = True


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("bert", "BERT-base fp32", build_bert, 32, 167.92, 50.35, 8.41),
        Architecture("qnn-bert", "1-bit QNN BERT (W1A4)", build_qnn, 1, 11.04, paper_derived=True),
        Architecture("sorbet", "Sorbet (rate, T=16)", build_sorbet, 1, 12.34, 3.39, 1.08),
        Architecture("spikelm", "SpikeLM (bi-spike, T=4, W1)", build_spikelm, 1, 7.20, 2.09, 0.46),
        Architecture("otters-4bitkv", "Otters 4-bit KV", lambda c: build_otters(c, kv_bits=4), 1, 4.49),
        Architecture("otters-1bitkv", "Otters 1-bit KV", lambda c: build_otters(c, kv_bits=1), 1, 4.06, 1.14, 0.33),
        Architecture("matterhorn", "Matterhorn (M-TTFS + MSU)", lambda c: build_matterhorn(c, c.dead_zone), 1,
                     in_paper_table=True),
        Architecture("otters-1bitkv-mttfs", "Otters 1-bit KV, M-TTFS", lambda c: build_otters(c, 1, c.dead_zone), 1,
                     in_paper_table=False),
        Architecture("otters-4bitkv-mttfs", "Otters 4-bit KV, M-TTFS", lambda c: build_otters(c, 4, c.dead_zone), 1,
                     in_paper_table=False),
        Architecture("spikelm-w32", "SpikeLM, fp32 weights", lambda c: build_spikelm(c, w_bits=32), 32, in_paper_table=False),
    )
}

PAPER_ORDER = ("bert", "sorbet", "spikelm", "otters-4bitkv", "otters-1bitkv")


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise OttersError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def build_workloads(
    model: str,
    geometry: Geometry | str = "bert-base",
    seq_len: int = DEFAULT_SEQ_LEN,
    hw: Hardware | None = None,
    stats: FiringStats | None = None,
    dead_zone: int = 0,
) -> list[Workload]:
    """The analytical workloads of one encoder layer of ``model`` for ``seq_len`` tokens
    (``dead_zone``: M-TTFS dead-zone half-width of matterhorn and otters-*-mttfs)."""
    arch = get_architecture(model)
    g = get_geometry(geometry) if isinstance(geometry, str) else geometry
    if int(seq_len) < 1:
        raise OttersError(f"seq_len must be >= 1, got {seq_len}")
    if isinstance(dead_zone, bool) or not isinstance(dead_zone, int) or dead_zone < 0:
        raise OttersError(f"dead_zone must be an integer >= 0, got {dead_zone!r}")
    ctx = Ctx(g, int(seq_len), hw or Hardware(), stats or FiringStats.default(), arch.weight_bits, dead_zone)
    return arch.builder(ctx)


def model_energy(
    model: str,
    geometry: Geometry | str = "bert-base",
    seq_len: int = DEFAULT_SEQ_LEN,
    table="22nm",
    hw: Hardware | None = None,
    stats: FiringStats | None = None,
    dead_zone: int = 0,
) -> EnergyReport:
    """Energy of one attention block per inference of ``model`` (analytical workloads)."""
    hw = hw or Hardware()
    return evaluate(build_workloads(model, geometry, seq_len, hw, stats, dead_zone), table, hw, model)
