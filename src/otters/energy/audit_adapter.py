"""Energy of a converted model from its measured operation audit (real inputs, real spikes).

The audit (:mod:`otters.snn.audit`) counts what every block of the spiking BERT did on the given
sentences; this adapter turns each audit row into the per-inference counts that
:func:`otters.energy.energy_from_counts` prices (computation + data movement + analog parts, as in
Yan et al., arXiv 2409.08290, and docs/energy.md), adding the data movement the audit does not
count, under the same dataflow assumptions as the analytical models (``otters.energy.op_counts``):

- spikes travel as address events (``workload_from_counts``: global buffer write + read, NoC hops) of
  :data:`SPIKE_BITS`; a masked network (M-TTFS, sign-split TTFS) has two sub-populations per signed
  activation, so each of its spikes carries one more bit, its polarity;
- stored K / V: written once into PE-local SRAM (kv_bits per value), read once per synaptic event;
- a TTFS neuron that integrates a spiking stage saves its accumulator across the window boundary
  (PE-local state, written and read once: 2 x accumulator bits);
- every add / subtract / multiply of an integer accumulator reads its operand and reads + writes
  the accumulator in the register file (3 x width bits);
- a digital block reads its inputs from the global buffer over the NoC and writes its outputs there
  (fp32 values: read-out potentials, residual stream, norm outputs, probabilities); embedding rows
  (1-bit codes + a float scale) and the classifier's float weights are read from the global buffer.

Weights of the spiking stages sit in the optoelectronic devices: no weight traffic (Otters Sec. 3).
"""

from __future__ import annotations

import re

from otters.energy.model import EnergyReport, Hardware, energy_from_counts
from otters.errors import OttersError
from otters.snn.audit import AuditSettings, audit_model
from otters.snn.convert import convert

_KINDS = ("adds", "subs", "mults", "shifts", "compares")
SPIKE_BITS = 20  # address + time step of an address event (energy_from_counts' default)
_WIDTH = re.compile(r"^int(\d+)$")


def settings_from_hardware(hw: Hardware | None = None):
    """The audit's hardware realisation matching an energy ``Hardware`` (ADC placement, bits, column rows)."""
    hw = hw or Hardware()
    return AuditSettings(adc_per=hw.adc_per, adc_bits=hw.adc_bits, column_rows=hw.column_rows,
                         column_adc_bits=hw.column_adc_bits)


def _add(moved: dict, data: str, level: str, bits: float) -> None:
    if bits:
        row = moved.setdefault(data, {})
        row[level] = row.get(level, 0.0) + float(bits)


def _row_counts(row: dict, audit: dict, hw: Hardware, per: float) -> dict:
    """Per-inference counts of one audit row (a dict from ``Audit.to_dict()['blocks']``) plus movement."""
    model = audit["model"]
    kv_bits = int(model.get("kv_bits") or 4)
    counts = {"part": row["part"], "device_reads": row["device_reads"] / per, "spikes": row["spikes"] / per,
              "adc": {int(b): c / per for b, c in row["adc_bits"].items()}}
    for kind in _KINDS:
        counts[kind] = {dtype: c / per for dtype, c in row["dtypes"].get(kind, {}).items()}
    moved: dict = {}
    if row["path"] == "spiking":
        for kind in ("adds", "subs", "mults"):
            for dtype, c in row["dtypes"].get(kind, {}).items():
                width = _WIDTH.match(dtype)
                if width:
                    _add(moved, "activations", "reg", 3 * int(width.group(1)) * c / per)
        name = row["block"]
        if name.endswith((".qk", ".pv")):
            events = row.get("synaptic_events", 0)
            _add(moved, "kv", "local", events * kv_bits / per)
        if name.endswith((".k_quant", ".v_quant")):
            _add(moved, "kv", "local", row.get("neurons", 0) * kv_bits / per)
            _add(moved, "kv", "noc", row.get("neurons", 0) * kv_bits * hw.noc_hops / per)
        if row.get("domain") == "accumulator":
            width = max((int(m.group(1)) for d in row["dtypes"].get("compares", {}) if (m := _WIDTH.match(d))), default=16)
            _add(moved, "state", "local", 2 * width * row.get("neurons", 0) / per)
    else:
        values = row.get("values_in", 0), row.get("values_out", 0)
        _add(moved, "activations", "global", 32 * (values[0] + values[1]) / per)
        _add(moved, "activations", "noc", 32 * values[0] * hw.noc_hops / per)
        _add(moved, "weights", "global", row.get("weight_bits", 0) / per)
    counts["moved"] = moved
    return counts


def counts_from_audit(audit, hw: Hardware | None = None) -> dict[str, dict]:
    """{block: counts} per inference (audit totals / sentences) for :func:`energy_from_counts`."""
    data = audit.to_dict() if hasattr(audit, "to_dict") else dict(audit)
    per = float(data.get("sentences") or 0)
    if per <= 0:
        raise OttersError("the audit covers no sentence; run the model on at least one input")
    hw = hw or Hardware()
    return {row["block"]: _row_counts(row, data, hw, per) for row in data["blocks"]}


def energy_from_audit(audit, table="22nm", hw: Hardware | None = None, model: str = "") -> EnergyReport:
    """Energy per inference (mean over the audited sentences) priced by ``table`` on ``hw``."""
    hw = hw or Hardware()
    data = audit.to_dict() if hasattr(audit, "to_dict") else dict(audit)
    settings = data.get("settings", {})
    if settings and (settings.get("adc_per") != hw.adc_per or settings.get("column_rows") != hw.column_rows):
        raise OttersError(f"the audit counted ADC placement {settings.get('adc_per')!r} with {settings.get('column_rows')} "
                          f"rows but the hardware has {hw.adc_per!r} with {hw.column_rows}; audit with "
                          "settings_from_hardware(hw)")
    label = model or f"{data['model'].get('preset', 'model')} (audited)"
    polarity = 1 if data["model"].get("coding", "ttfs") != "ttfs" else 0
    return energy_from_counts(counts_from_audit(data, hw), table, hw, spike_bits=SPIKE_BITS + polarity, model=label)


def measure_energy(student, input_ids, attention_mask=None, token_type_ids=None, table="22nm",
                   hw: Hardware | None = None, batch_size: int = 32, curve=None):
    """Convert ``student``, run its spiking BERT on the inputs, audit, and price: (EnergyReport, Audit)."""
    hw = hw or Hardware()
    settings = settings_from_hardware(hw)
    snn = convert(student, curve, adc_bits=hw.adc_bits)
    audit = audit_model(student, input_ids, attention_mask, token_type_ids, settings, batch_size, snn=snn)
    return energy_from_audit(audit, table, hw), audit
