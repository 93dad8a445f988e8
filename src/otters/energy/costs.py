"""Per-operation and per-bit energy costs, read from JSON tables (``energy/tables/*.json``).

A table is selected by name (``45nm``, ``22nm``) or given as a JSON file path. A user file may be
complete, or partial with ``"base": "22nm"`` and only the entries it changes. Every entry carries
a ``source`` string: where the number comes from or how it was scaled (see docs/energy.md).

Operations are named by kind and data type: ``int16``, ``fp32``, or ``int8x4`` for a multiply of an
8-bit by a 4-bit operand. Widths between table points are interpolated log-log (an adder grows
about linearly, a multiplier about quadratically with width; the log-log line follows both).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from otters.errors import OttersError
from otters.io import read_json

OP_KINDS = ("adds", "subs", "mults", "shifts", "compares")
_POINT_KEYS = ("int_add", "int_mult", "fp_add", "fp_mult", "sram_64bit")
_VALUE_KEYS = (
    "dram_64bit",
    "reg_bit",
    "noc_bit_hop",
    "device_read",
    "adc_fom_step",
    "xbar_cell_read",
    "xbar_row_drive",
)
_DTYPE = re.compile(r"^(int|fp)(\d+)(?:x(\d+))?$")


def builtin_tables() -> list[str]:
    """Names of the tables shipped with otters (``45nm``, ``22nm``)."""
    folder = resources.files("otters.energy") / "tables"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def _loglog(points: list, x: float) -> float:
    """Piecewise log-log interpolation through ``points`` [(x, y), ...], extrapolating the end slopes."""
    xs = np.log(np.array([p[0] for p in points], dtype=float))
    ys = np.log(np.array([p[1] for p in points], dtype=float))
    lx = math.log(x)
    if len(xs) == 1:
        return float(points[0][1])
    if lx <= xs[0]:
        i = 0
    elif lx >= xs[-1]:
        i = len(xs) - 2
    else:
        i = int(np.searchsorted(xs, lx)) - 1
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return float(math.exp(ys[i] + slope * (lx - xs[i])))


def parse_dtype(dtype: str) -> tuple[str, float]:
    """``'int16'`` -> ('int', 16); ``'int8x4'`` -> ('int', sqrt(32)) (effective multiplier width)."""
    m = _DTYPE.match(str(dtype))
    if not m:
        raise OttersError(f"unknown data type {dtype!r}: use int<bits>, fp<bits> or int<a>x<b> (e.g. int16, fp32, int8x4)")
    family, a, b = m.group(1), int(m.group(2)), m.group(3)
    if a < 1 or (b is not None and int(b) < 1):
        raise OttersError(f"data type {dtype!r} has a zero bit width")
    width = math.sqrt(a * int(b)) if b is not None else float(a)
    return family, width


@dataclass(frozen=True)
class CostTable:
    """Energy constants in pJ. ``entries`` is the validated JSON content (with sources)."""

    name: str
    entries: dict

    def op_pj(self, kind: str, dtype: str) -> float:
        """Energy of one operation in pJ.

        add, sub, compare and shift all cost an add of the same width (a comparator is a subtractor;
        a barrel shifter's log2(bits) mux stages cost about one adder: assumption, docs/energy.md).
        mult uses the multiplier curve at the effective width sqrt(a*b). Source: Horowitz ISSCC 2014.
        """
        family, width = parse_dtype(dtype)
        base = "mult" if kind in ("mult", "mults") else "add"
        if kind not in OP_KINDS and kind not in ("add", "sub", "mult", "shift", "compare"):
            raise OttersError(f"unknown operation kind {kind!r}; use one of {', '.join(OP_KINDS)}")
        return _loglog(self.entries[f"{family}_{base}"]["points"], width)

    def sram_pj_per_bit(self, capacity_bytes: float) -> float:
        """SRAM access energy per bit: the 64-bit access energy at this capacity / 64 (log-log interpolation)."""
        if capacity_bytes <= 0:
            raise OttersError(f"SRAM capacity must be positive, got {capacity_bytes}")
        return _loglog(self.entries["sram_64bit"]["points"], capacity_bytes) / 64.0

    def value(self, key: str) -> float:
        return float(self.entries[key]["value"])

    @property
    def dram_pj_per_bit(self) -> float:
        return self.value("dram_64bit") / 64.0

    def adc_pj(self, bits: int) -> float:
        """One conversion: E = FoM_Walden * 2^bits (ENOB taken equal to the nominal bits)."""
        return self.value("adc_fom_step") * 2.0 ** int(bits)

    def sources(self) -> dict[str, str]:
        return {k: v["source"] for k, v in self.entries.items() if isinstance(v, dict) and "source" in v}


def _validate(entries: dict, origin: str) -> None:
    for key in _POINT_KEYS:
        entry = entries.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("points"), list) or not entry["points"]:
            raise OttersError(f"{origin}: entry {key!r} needs a non-empty 'points' list of [x, pJ] pairs")
        xs = []
        for p in entry["points"]:
            if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p)):
                raise OttersError(f"{origin}: {key!r} point {p!r} is not an [x, pJ] pair")
            if p[0] <= 0 or p[1] <= 0:
                raise OttersError(f"{origin}: {key!r} point {p!r} must be positive")
            xs.append(p[0])
        if xs != sorted(set(xs)):
            raise OttersError(f"{origin}: {key!r} points must have strictly increasing x")
    for key in _VALUE_KEYS:
        entry = entries.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), (int, float)) or entry["value"] < 0:
            raise OttersError(f"{origin}: entry {key!r} needs a non-negative 'value' in pJ")
    for key in _POINT_KEYS + _VALUE_KEYS:
        if not isinstance(entries[key].get("source"), str) or not entries[key]["source"].strip():
            raise OttersError(f"{origin}: entry {key!r} has no 'source': say where the number comes from")


def load_table(name_or_path: str | Path = "22nm") -> CostTable:
    """A cost table by built-in name (``45nm``, ``22nm``) or JSON path (may set ``"base"`` and override entries)."""
    key = str(name_or_path)
    if key in builtin_tables():
        raw = read_json(Path(str(resources.files("otters.energy") / "tables" / f"{key}.json")))
        origin = f"table {key}"
    else:
        path = Path(key)
        if not path.suffix == ".json" and not path.exists():
            raise OttersError(f"unknown cost table {key!r}: use one of {', '.join(builtin_tables())} or a JSON file path")
        raw = read_json(path)
        origin = str(path)
        if not isinstance(raw, dict):
            raise OttersError(f"{origin}: a cost table is a JSON object")
        base = raw.get("base")
        if base is not None:
            if base not in builtin_tables():
                raise OttersError(f"{origin}: base {base!r} is not a built-in table ({', '.join(builtin_tables())})")
            merged = dict(load_table(base).entries)
            merged.update({k: v for k, v in raw.items() if k != "base"})
            raw = merged
    unknown = set(raw) - set(_POINT_KEYS + _VALUE_KEYS) - {"name", "description", "base"}
    if unknown:
        raise OttersError(f"{origin}: unknown entries {sorted(unknown)}; known: {sorted(_POINT_KEYS + _VALUE_KEYS)}")
    _validate(raw, origin)
    return CostTable(name=str(raw.get("name", key)), entries=raw)
