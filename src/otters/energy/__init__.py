"""otters.energy: E = computation + data movement + analog parts, per stage, from typed workloads.

- :mod:`~otters.energy.costs`: per-op and per-bit energies from JSON tables (45 nm Horowitz, 22 nm
  scaled), selectable by name or file.
- :mod:`~otters.energy.workload`: :class:`Workload` (counts per stage) and the audit/trace adapter.
- :mod:`~otters.energy.model`: :class:`Hardware`, :func:`evaluate`, :func:`energy_from_counts`.
- :mod:`~otters.energy.stats`: activity statistics (Gaussian + LSQ-init defaults, or measured).
- architectures / architectures_ttfs / registry: analytical workloads of BERT, the 1-bit QNN,
  Sorbet, SpikeLM, Otters (1- and 4-bit K/V) and Matterhorn; :func:`model_energy`.
- :mod:`~otters.energy.paper`: the paper table with gap notes.

The spiking ViT's ACs/MACs pricing lives with the ViT, in :mod:`otters.vit.energy`.
"""

from otters.energy.costs import CostTable, builtin_tables, load_table
from otters.energy.model import EnergyReport, Hardware, StageEnergy, energy_from_counts, evaluate
from otters.energy.op_counts import GEOMETRIES, Geometry, get_geometry
from otters.energy.paper import gap_note, ordering_matches_paper, paper_rows
from otters.energy.registry import ARCHITECTURES, DEFAULT_SEQ_LEN, build_workloads, model_energy
from otters.energy.stats import FiringStats, Population
from otters.energy.workload import Workload, workload_from_counts

__all__ = [
    "ARCHITECTURES", "DEFAULT_SEQ_LEN", "GEOMETRIES", "CostTable", "EnergyReport", "FiringStats", "Geometry",
    "Hardware", "Population", "StageEnergy", "Workload", "build_workloads", "builtin_tables",
    "energy_from_counts", "evaluate", "gap_note", "get_geometry", "load_table", "model_energy",
    "ordering_matches_paper", "paper_rows", "workload_from_counts",
]
