"""Verification of a conversion, the one entry: does the SNN reproduce the QNN bit for bit?

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1 (lossless QNN -> SNN). :func:`verify`
dispatches on the converted model, here and nowhere else: a spiking BERT is checked stage by stage
on sentences (``otters.snn.bert.verify``), an MLP network (plain TTFS or M-TTFS) layer by layer on
float inputs with either simulator (``otters.snn.mlp.verify``). Both return a
:class:`otters.snn.checks.VerifyResult`.
"""

from __future__ import annotations

import torch

from otters.errors import OttersError
from otters.snn.bert.model import SpikingBert
from otters.snn.bert.verify import verify_bert
from otters.snn.checks import VerifyResult
from otters.snn.mlp.verify import verify_mlp
from otters.snn.tables import DeviceVariation


@torch.no_grad()
def verify(qnn, snn, inputs, simulator: str = "event", variation: DeviceVariation | None = None,
           dt: float | None = None) -> VerifyResult:
    """Run the QNN's integer inference and the SNN on ``inputs``; compare layer by layer (stage by stage).

    Returns a :class:`VerifyResult` (exact flag, per-layer max level difference, spikes per neuron,
    sparsity, spike traces; ``.to_dict()`` for JSON). ``variation`` draws a non-nominal chip (then
    inexactness is expected and measured). A spiking BERT takes token ids or a tokenised batch dict
    and ``simulator`` "event" or "threshold" (its fire mode).
    """
    if isinstance(snn, SpikingBert):
        if simulator not in ("event", "threshold"):
            raise OttersError(f"a spiking BERT runs the event simulator or fire mode 'threshold', not {simulator!r}")
        batch = inputs if isinstance(inputs, dict) else {"input_ids": inputs}
        return verify_bert(qnn, snn, batch["input_ids"], batch.get("attention_mask"), batch.get("token_type_ids"),
                           fire_mode=simulator, variation=variation)
    return verify_mlp(qnn, snn, inputs, simulator, variation, dt)
