"""The measured operation audit: the spiking path's counts as executed, beside the rule-based audit.

The rule-based audit (:mod:`otters.snn.audit`) derives every count from measured activity through
hand-written rules. Here the converted network is run by the hardware executor
(:class:`otters.snn.hardware.HardwareExecutor`) under an operation counter
(:class:`otters.snn.op_counter.OpCounter`): each population's and stage's adds, subtractions,
multiplications, shifts and comparisons are the aten operations the executor performed, its device
reads and conversions those it issued, its spikes the threshold crossings it simulated. The digital
path (embeddings, norms, softmax, read-out maps, classifier) keeps its rule-based counts.

The executor's logits must equal the fast simulator's, sentence by sentence (checked on every run):
the counted operations are those of the network itself, not of a look-alike.
"""

from __future__ import annotations

import torch

from otters.errors import OttersError
from otters.snn.audit import Audit, AuditRow, AuditSettings, audit_model
from otters.snn.convert import convert
from otters.snn.hardware import HardwareExecutor
from otters.snn.op_counter import OP_KINDS, OpCounter


def _measured_row(rule: AuditRow, counts, spikes: int) -> AuditRow:
    row = AuditRow(rule.block, rule.path, rule.part, rule.layer, rule.window)
    for kind in OP_KINDS:
        row.op(kind, "measured", counts.ops[kind])
    row.device_reads = float(counts.device_reads)
    for bits, n in counts.adc.items():
        row.convert(bits, n)
    row.spikes = float(spikes)
    row.info = {**rule.info, "data_movement_ops": sorted(counts.others)}
    return row


def measured_audit(model, input_ids, attention_mask=None, token_type_ids=None,
                   settings: AuditSettings | None = None, snn=None) -> tuple[Audit, Audit]:
    """(measured, rule-based) audits of the converted ``model`` on the inputs. Raises OttersError if the
    executor's logits differ from the fast simulator's (then the counts would not be the network's)."""
    settings = settings or AuditSettings()
    if settings.adc_per not in ("column", "spike"):
        raise OttersError(f"the measured audit executes the column and spike ADC placements, not {settings.adc_per!r}")
    if snn is None:

        snn = convert(model, adc_bits=settings.adc_bits)
    ids = torch.as_tensor(input_ids)
    mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
    types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
    rules = audit_model(model, ids, mask, types, settings, snn=snn)
    counter = OpCounter()
    executor = HardwareExecutor(snn, counter=counter, adc_per=settings.adc_per, column_rows=settings.column_rows)
    out = executor.forward(ids, mask, types)
    for row in range(ids.shape[0]):
        real = mask[row].bool()
        fast = snn(ids[row][real][None], None, types[row][real][None]).logits
        if not torch.equal(fast[0], out.logits[row]):
            raise OttersError(f"sentence {row}: the hardware executor's logits differ from the fast simulator's")
    rows = []
    for rule in rules.rows:
        if rule.path != "spiking":
            rows.append(rule)
            continue
        if rule.block not in counter.blocks:
            raise OttersError(f"block {rule.block} was never executed by the hardware executor")
        rows.append(_measured_row(rule, counter.blocks[rule.block], executor.spikes.get(rule.block, 0)))
    measured = Audit(rows, settings, rules.sentences, rules.tokens, dict(rules.model))
    return measured, rules
