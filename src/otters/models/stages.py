"""Enumerate the spiking stages of a quantized BERT student, and observe their integer arithmetic.

A stage is one TTFS time window (Otters, Proposition 1): input neurons holding integer levels of
``input_quant`` fire, the synapses (binary weight codes, or the levels of K / V for the attention
products) accumulate an integer, and the potential is

    V = potential_from_accumulator(acc, weight_scale, input_quant.alpha, bias)

``output_quant`` is the quantizer whose levels the output neurons emit in the next window
(None: V is read out digitally, e.g. into a residual add or the (PT)softmax).
Within a layer, Q/K/V fire in window 0, then QK^T (1), PV (2), O (3), FFN1 (4), FFN2 (5).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch import nn

from otters.errors import OttersError
from otters.quant import LSQQuantizer, exact_accumulate


@dataclass(frozen=True)
class SpikingStage:
    """One spiking stage of the student.

    kind "linear": synapses = ``linear.weight_codes()`` (int8 codes, scale), bias ``linear.bias``.
    kind "qk": synapses = K levels (``weight_quant`` = k_quant), weight scale alpha_k/sqrt(d)
    (``owner.qk_weight_scale()``), no bias. kind "pv": synapses = V levels (k index = key position),
    weight scale alpha_v (``weight_quant.alpha``), no bias. ``post`` names the digital operation
    applied to V before ``output_quant`` ("relu" for FFN1 and the pooler, "softmax"/"ptsoftmax" for QK^T).
    """

    name: str
    kind: str
    window: int
    input_quant: LSQQuantizer
    output_quant: LSQQuantizer | None
    linear: nn.Module | None = None
    weight_quant: LSQQuantizer | None = None
    post: str | None = None
    owner: nn.Module = field(default=None, repr=False)
    hook: str = "accumulator"

    def weight_scale(self) -> torch.Tensor:
        """The float32 scale multiplying the integer accumulator together with input_quant.alpha."""
        if self.kind == "linear":
            return self.linear.weight_codes()[1]
        if self.kind == "qk":
            return self.owner.qk_weight_scale()
        return self.weight_quant.alpha.detach().to(torch.float32)

    def set_accumulator(self, fn) -> None:
        """Replace this stage's integer accumulation: fn(levels_in, weight_levels) -> float32 integers.

        weight_levels has shape (..., out, in) (binary codes, K levels, or V levels transposed);
        fn must return exactly levels_in @ weight_levels^T for the model to stay bit-exact.
        """
        setattr(self.owner, self.hook, fn)


def _model_parts(model: nn.Module):
    bert = getattr(model, "bert", model)
    cfg = bert.config
    if not (cfg.binary_weights and cfg.quantized_acts):
        raise OttersError(f"preset {cfg.preset!r} has no spiking stages: it needs 1-bit weights and quantized "
                          "activations (use qnn-w1a4, sorbet, otters-4bitkv or otters-1bitkv)")
    return bert, cfg


def spiking_stages(model: nn.Module) -> list[SpikingStage]:
    """All spiking stages of a quantized QBert model in execution order (per layer 8 stages, 6 windows;
    then the pooler). Source: Otters (ICLR 2026) section 1.2 windows QKV, QK^T, PV, O, FFN1, FFN2.
    """
    bert, cfg = _model_parts(model)
    stages: list[SpikingStage] = []
    for i, layer in enumerate(bert.layers):
        a, p = layer.attn, f"layers.{i}"
        for name, linear, out_q in (("query", a.query, a.q_quant), ("key", a.key, a.k_quant), ("value", a.value, a.v_quant)):
            stages.append(SpikingStage(f"{p}.attn.{name}", "linear", 0, a.input_quant, out_q, linear, owner=linear))
        stages.append(SpikingStage(f"{p}.attn.qk", "qk", 1, a.q_quant, None, weight_quant=a.k_quant,
                                   post=cfg.softmax, owner=a, hook="qk_accumulator"))
        stages.append(SpikingStage(f"{p}.attn.pv", "pv", 2, a.p_quant, a.out_quant, weight_quant=a.v_quant,
                                   owner=a, hook="pv_accumulator"))
        stages.append(SpikingStage(f"{p}.attn.out", "linear", 3, a.out_quant, None, a.out, owner=a.out))
        stages.append(SpikingStage(f"{p}.ffn1", "linear", 4, layer.ffn_in_quant, layer.ffn2_in_quant, layer.ffn1,
                                   post=cfg.hidden_act, owner=layer.ffn1))
        stages.append(SpikingStage(f"{p}.ffn2", "linear", 5, layer.ffn2_in_quant, None, layer.ffn2, owner=layer.ffn2))
    stages.append(SpikingStage("pooler", "linear", 0, bert.pooler_quant, None, bert.pooler,
                               post=cfg.pooler_act, owner=bert.pooler))
    return stages


@contextlib.contextmanager
def record_stages(model: nn.Module):
    """Within the block, every eval forward appends (stage name, levels_in, weight_levels, acc) to the
    yielded list; the accumulators stay exact. Restores the previous hooks on exit.
    """
    records: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    stages = spiking_stages(model)
    previous = [getattr(s.owner, s.hook) for s in stages]

    def recorder(name, inner):
        def accumulate(levels_in, weight_levels):
            acc = (inner or exact_accumulate)(levels_in, weight_levels)
            records.append((name, levels_in, weight_levels, acc))
            return acc

        return accumulate

    try:
        for s, prev in zip(stages, previous):
            s.set_accumulator(recorder(s.name, prev))
        yield records
    finally:
        for s, prev in zip(stages, previous):
            s.set_accumulator(prev)
