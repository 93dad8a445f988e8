"""Verification of a whole-model conversion: does the spiking BERT reproduce the QNN bit for bit?

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1. The QNN's integer inference is
observed stage by stage through ``otters.models.stages.record_stages`` (input levels, K / V levels,
integer accumulator of every spiking stage); the SNN records the same from its spikes. For every
stage we compare the decoded input spikes with the QNN's input levels, the decoded stored K / V
with the QNN's K / V levels, the accumulators bit for bit, and finally the logits bit for bit.
"""

from __future__ import annotations

import torch

from otters.errors import OttersError
from otters.models.stages import record_stages
from otters.snn.bert.activity import BertActivity
from otters.snn.bert.model import iter_batches
from otters.snn.checks import LayerCheck, VerifyResult
from otters.snn.tables import DeviceVariation


def _check(name: str, kind: str, ref: torch.Tensor, got: torch.Tensor, spikes: int | None = None,
           neurons_seen: int | None = None) -> LayerCheck:
    if ref.shape != got.shape:
        raise OttersError(f"{name}: the QNN gives shape {tuple(ref.shape)} but the SNN {tuple(got.shape)}")
    differ = got.to(ref.dtype) != ref  # levels: integer equality; potentials: float32 bit equality
    mismatches = int(differ.sum())
    max_diff = 0.0
    if mismatches:
        dtype = torch.int64 if kind == "levels" else torch.float64
        max_diff = float((got[differ].to(dtype) - ref[differ].to(dtype)).abs().max())
    check = LayerCheck(name, kind, int(got.shape[-1]) if got.dim() else 1, max_diff, mismatches)
    if spikes is not None:
        check.spikes = int(spikes)
        check.max_spikes_per_neuron = 1 if spikes else 0  # one spike step per neuron, by construction
        check.sparsity = 1.0 - spikes / neurons_seen if neurons_seen else None
    return check


@torch.no_grad()
def verify_bert(student, snn, input_ids, attention_mask=None, token_type_ids=None, *, fire_mode: str = "event",
                variation: DeviceVariation | None = None, batch_size: int = 32, traces: bool = True) -> VerifyResult:
    """Run the student's integer inference and the spiking BERT on the same sentences; compare.

    Returns a :class:`otters.snn.VerifyResult`: one ``levels`` check per stage input (the decoded
    spikes of the population that feeds it) and per stored K / V, one ``potential`` check per
    accumulator and one for the logits; ``exact`` iff all match. Padded positions are compared too.
    ``traces`` False skips the activity counts (spikes, sparsity, traces) to save time.
    """
    was_training = student.training
    student.eval()
    activity = BertActivity()
    checks: dict[str, list[tuple[LayerCheck, int]]] = {}
    samples = 0
    try:
        for ids, mask, types in iter_batches(input_ids, attention_mask, token_type_ids, batch_size):
            samples += int(ids.shape[0])
            with record_stages(student) as qnn_records:
                reference = student(ids, mask, types).logits
            before = {name: (s.spikes, s.outputs) for name, s in activity.stages.items()}
            out = snn(ids, mask, types, fire_mode=fire_mode, variation=variation,
                      activity=activity if traces else None, record=True)
            if [r[0] for r in qnn_records] != [r[0] for r in out.records]:
                raise OttersError("the spiking BERT's stages " + ", ".join(r[0] for r in out.records) + " do not match "
                                  "the student's " + ", ".join(r[0] for r in qnn_records) + "; convert this student")
            batch_checks = []
            for (name, q_in, q_w, q_acc), (_, s_in, s_w, s_acc) in zip(qnn_records, out.records):
                stage = activity.stages.get(name)
                spikes = None if stage is None else stage.spikes - before.get(name, (0, 0))[0]
                seen = 0 if stage is None else _real_inputs(stage, q_in, mask)
                check = _check(f"{name}:input", "levels", q_in, s_in, spikes, seen)
                check.population = None if stage is None else stage.population
                batch_checks.append((check, seen))
                if s_w is not None:
                    batch_checks.append((_check(f"{name}:stored_kv", "levels", q_w, s_w), 0))
                batch_checks.append((_check(f"{name}:acc", "potential", q_acc, s_acc), 0))
            batch_checks.append((_check("logits", "potential", reference, out.logits), 0))
            for c, seen in batch_checks:
                checks.setdefault(c.name, []).append((c, seen))
    finally:
        student.train(was_training)
    layers = [_merge(group) for group in checks.values()]
    return VerifyResult(exact=all(c.exact for c in layers), simulator=f"bert-{fire_mode}", samples=samples,
                        layers=layers, traces=activity.traces(),
                        nominal_device=variation is None or variation.is_nominal)


def _real_inputs(stage, levels: torch.Tensor, mask: torch.Tensor) -> int:
    """Input neurons on real tokens (what the activity counted spikes over)."""
    tokens = mask.bool()
    if stage.kind == "linear":
        rows = int(tokens.sum()) if levels.dim() == 3 else int(levels.shape[0])
        return rows * stage.fan_in
    n = tokens.sum(dim=1)
    heads = levels.shape[1]
    if stage.kind == "qk":
        return int(n.sum()) * heads * levels.shape[-1]
    return int((n * n).sum()) * heads


def _merge(group: list[tuple[LayerCheck, int]]) -> LayerCheck:
    """One check per name over all batches (sparsity = 1 - all spikes / all real input neurons)."""
    first = group[0][0]
    merged = LayerCheck(first.name, first.kind, first.neurons, max(c.max_diff for c, _ in group),
                        sum(c.mismatches for c, _ in group))
    merged.spikes = sum(c.spikes for c, _ in group)
    merged.max_spikes_per_neuron = max(c.max_spikes_per_neuron for c, _ in group)
    merged.population = first.population
    seen = sum(n for _, n in group)
    if seen:
        merged.sparsity = 1.0 - merged.spikes / seen
    return merged
