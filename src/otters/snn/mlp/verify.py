"""Verification of an MLP conversion: does the SNN reproduce the QNN's integer levels, bit for bit?

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 (lossless QNN -> SNN): every layer of
the QNN's integer inference (:func:`otters.snn.mlp.convert.reference_forward`) against the record of
the same layer in the simulation: decoded levels equal, readouts the same float, <= 1 spike per neuron.
"""

from __future__ import annotations

import torch

from otters.errors import OttersError
from otters.snn.checks import LayerCheck, VerifyResult
from otters.snn.mlp.convert import reference_forward
from otters.snn.tables import DeviceVariation


def _compare(name, kind, qnn_values, record) -> LayerCheck:
    ref, got = qnn_values, record.values
    if ref.shape != got.shape:
        raise OttersError(f"{name}: QNN gives shape {tuple(ref.shape)} but the SNN {tuple(got.shape)}")
    if kind == "levels":
        diff = (got.to(torch.int64) - ref.to(torch.int64)).abs()
        mismatches = int((diff != 0).sum())
    else:
        diff = (got.to(torch.float64) - ref.to(torch.float64)).abs()
        mismatches = int((got != ref).sum())  # bit-equality of the float32 readouts
    max_diff = float(diff.max()) if diff.numel() else 0.0
    neurons = int(got.shape[-1]) if got.dim() else 1
    check = LayerCheck(name, kind, neurons, max_diff, mismatches, population=record.population)
    counts = record.spikes_per_neuron()
    if counts is not None:
        check.spikes = int(counts.sum())
        check.max_spikes_per_neuron = int(counts.max()) if counts.numel() else 0
        check.sparsity = record.trace.sparsity if record.trace is not None else None
    return check


@torch.no_grad()
def verify_mlp(qnn, snn, inputs, simulator: str = "event", variation: DeviceVariation | None = None,
               dt: float | None = None) -> VerifyResult:
    """Run the QNN's integer inference and the SNN (a SpikingNetwork) on ``inputs``; compare layer by layer.

    Returns a :class:`VerifyResult` (exact flag, per-layer max level difference, spikes per neuron,
    sparsity, spike traces; ``.to_dict()`` for JSON). ``variation`` draws a non-nominal chip (then
    inexactness is expected and measured).
    """
    x = torch.as_tensor(inputs, dtype=torch.float32)
    reference = reference_forward(qnn, x)
    result = snn.run(x, simulator=simulator, variation=variation, dt=dt)
    if [(r.name, r.kind) for r in reference] != [(r.name, r.kind) for r in result.records]:
        raise OttersError(
            "the SNN's layers " + ", ".join(r.name for r in result.records) + " do not match the QNN's "
            + ", ".join(r.name for r in reference) + "; convert this QNN with otters.convert"
        )
    layers = [_compare(ref.name, ref.kind, ref.values, rec) for ref, rec in zip(reference, result.records)]
    samples = x.numel() // max(int(x.shape[-1]), 1)
    return VerifyResult(
        exact=all(c.exact for c in layers),
        simulator=result.simulator,
        samples=samples,
        layers=layers,
        traces=result.traces,
        nominal_device=variation is None or variation.is_nominal,
    )
