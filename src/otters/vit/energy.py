"""Hook for the spiking ViT (A2OS2A, Spikformer...): operation counts -> energy.

The usual spiking-vision accounting (Horowitz 45 nm, fp32): E = n_MAC * E_MAC + n_AC * E_AC with
E_MAC = E_mult + E_add = 3.7 + 0.9 = 4.6 pJ and E_AC = E_add = 0.9 pJ; SOPs (ACs) = firing rate x T x
FLOPs, and the first layer on real-valued pixels counts as MACs. It ignores memory and data
movement (criticised by arXiv 2409.08290); :func:`vit_workload` puts the same counts into a
:class:`Workload` so that data movement can be added from measured bits or spikes.
"""

from __future__ import annotations

from otters.energy.costs import CostTable, load_table
from otters.energy.workload import Workload, workload_from_counts
from otters.errors import OttersError

ENERGY_TABLES = ("45nm", "22nm")  # otters.energy cost tables every ViT result is priced with


def _layers(acs, macs) -> dict[str, tuple[float, float]]:
    if isinstance(acs, dict) or isinstance(macs, dict):
        if not (isinstance(acs, dict) and isinstance(macs, dict)):
            raise OttersError("give acs and macs both as numbers or both as per-layer dicts")
        names = list(dict.fromkeys([*acs, *macs]))
        return {n: (float(acs.get(n, 0.0)), float(macs.get(n, 0.0))) for n in names}
    return {"total": (float(acs), float(macs))}


def energy_from_acs_macs(acs, macs, table: CostTable | str = "45nm", ac_dtype: str = "fp32", mac_dtype: str = "fp32") -> dict:
    """Energy in mJ of ``acs`` accumulates and ``macs`` multiply-accumulates (numbers or per-layer dicts).

    E_AC = E_add(ac_dtype); E_MAC = E_mult(mac_dtype) + E_add(mac_dtype); at 45 nm fp32 these are
    0.9 and 4.6 pJ (Horowitz ISSCC 2014). Returns ac_mj, mac_mj, total_mj and per_layer.
    """
    table = load_table(table) if isinstance(table, str) else table
    e_ac = table.op_pj("adds", ac_dtype)
    e_mac = table.op_pj("mults", mac_dtype) + table.op_pj("adds", mac_dtype)
    per_layer = {}
    for name, (n_ac, n_mac) in _layers(acs, macs).items():
        if n_ac < 0 or n_mac < 0:
            raise OttersError(f"layer {name!r}: operation counts must be >= 0")
        per_layer[name] = {"ac_mj": n_ac * e_ac / 1e9, "mac_mj": n_mac * e_mac / 1e9}
    ac = sum(v["ac_mj"] for v in per_layer.values())
    mac = sum(v["mac_mj"] for v in per_layer.values())
    return {"ac_mj": ac, "mac_mj": mac, "total_mj": ac + mac, "e_ac_pj": e_ac, "e_mac_pj": e_mac, "per_layer": per_layer}


def vit_workload(name: str, acs: float, macs: float, *, ac_dtype: str = "fp32", mac_dtype: str = "fp32",
                 spikes: float = 0.0, moved: dict | None = None, part: str = "FC") -> Workload:
    """A :class:`Workload` of ``acs`` adds and ``macs`` mult + add, plus spikes and bits moved, for ``evaluate``."""
    adds = {ac_dtype: float(acs)}
    adds[mac_dtype] = adds.get(mac_dtype, 0.0) + float(macs)  # each MAC is one mult and one add
    counts = {"adds": adds, "mults": {mac_dtype: float(macs)}, "spikes": spikes, "moved": moved or {}}
    return workload_from_counts(name, counts, part=part)


def energy_per_image(acs: float, macs: float, table: str = "45nm") -> dict:
    """E = ACs * E_AC + MACs * E_MAC per image (fp32 ops), in pJ and uJ, priced by otters.energy.

    E_AC = E_add(fp32), E_MAC = E_mult(fp32) + E_add(fp32) from the named cost table
    (:func:`energy_from_acs_macs`): at 45 nm 0.9 and 4.6 pJ (Horowitz, ISSCC 2014); at 22 nm
    the scaled table of docs/energy.md. Synaptic operations only (the usual SNN accounting,
    Otters, ICLR 2026, Section 4): memory, data movement and neuron updates are not included.
    """
    e = energy_from_acs_macs(acs, macs, table)
    pj = e["total_mj"] * 1e9
    return {"pJ": pj, "uJ": pj * 1e-6, "e_ac_pJ": e["e_ac_pj"], "e_mac_pJ": e["e_mac_pj"], "table": str(table)}


def energy_tables(acs: float, macs: float, tables=ENERGY_TABLES) -> dict:
    """:func:`energy_per_image` for each cost table: {table: {...}}."""
    return {str(t): energy_per_image(acs, macs, t) for t in tables}
