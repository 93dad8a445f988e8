"""Building the spiking BERT from a calibrated QBert student (Otters, Proposition 1).

Per stage of the student (``otters.models.stages``: Q, K, V, O, FFN1, FFN2, pooler) a
:class:`LinearStage` with the student's binary weight codes and scale, its bias as the initial
potential; per quantizer a firing population, asked of ``populations`` (plain TTFS:
:class:`otters.snn.bert.stages.TtfsPopulations`; M-TTFS: ``otters.snn.mttfs.bert.MaskedPopulations``);
the digital blocks (embeddings, norms, classifier) are frozen copies of the student's own. The
entry for every model type is :func:`otters.snn.convert`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from otters.device import DecayCurve
from otters.errors import OttersError
from otters.nn.qlinear import QuantEmbedding
from otters.quant import potential_from_accumulator
from otters.snn.bert.model import SpikingBert, SpikingLayer
from otters.snn.bert.stages import LinearStage


def check_student(model) -> tuple[nn.Module, object]:
    """(student.bert, its config), or OttersError when the student has no exact spiking equivalent."""
    bert = getattr(model, "bert", None)
    cfg = getattr(bert, "config", None)
    if cfg is None or not hasattr(model, "classifier"):
        raise OttersError(f"otters.convert of a BERT needs a QBertForSequenceClassification, got {type(model).__name__}")
    if not (cfg.binary_weights and cfg.quantized_acts):
        raise OttersError(f"preset {cfg.preset!r} has no spiking equivalent: it needs 1-bit weights and quantized "
                          "activations (qnn-w1a4, sorbet, otters-4bitkv or otters-1bitkv)")
    if cfg.hidden_act != "relu":
        raise OttersError(f"hidden_act {cfg.hidden_act!r}: a TTFS neuron realises round + clip, so the FFN needs "
                          "ReLU folded into an unsigned quantizer (hidden_act relu)")
    return bert, cfg


def _stage(populations, linear, name, index, window, layer, pop_in, out_quant, out_name) -> LinearStage:
    codes, scale = linear.weight_codes()
    bias = None if linear.bias is None else linear.bias.detach().to(torch.float32).clone()
    stage = LinearStage(name, index, window, codes.detach().clone(), scale.detach().to(torch.float32).clone(), bias,
                        pop_in, layer=layer)
    if out_quant is not None:
        stage.out = populations.accumulator(out_quant, out_name, stage.potential, stage.fan_out)
    return stage


@torch.no_grad()
def build_spiking_bert(model, populations, curve: DecayCurve, adc_bits: int = 8) -> SpikingBert:
    """The spiking BERT equivalent to the (calibrated) student ``model`` on the device ``curve``.

    Otters Prop. 1: T = 2^n - 1, O(t_k) = (T - k)/T, gamma = w alpha_in T, stepped thresholds
    alpha (T - k), layer-wise windows. Raises OttersError for presets without quantized activations,
    non-ReLU FFNs and uncalibrated quantizers (run one forward on data first). ``populations`` gives
    each quantizer its firing population: ``value(quantizer, name)`` (fed by a digital block) and
    ``accumulator(quantizer, name, potential, channels)`` (fed by a spiking stage).
    """
    bert, cfg = check_student(model)
    layers, index = [], 0
    for i, layer in enumerate(bert.layers):
        a, p = layer.attn, f"layers.{i}"
        inp = populations.value(a.input_quant, f"{p}.attn.input_quant")
        stages = []
        for name, linear, quant in (("query", a.query, a.q_quant), ("key", a.key, a.k_quant), ("value", a.value, a.v_quant)):
            stages.append(_stage(populations, linear, f"{p}.attn.{name}", index, 0, i, inp.pop, quant,
                                 f"{p}.attn.{name[0]}_quant"))
            index += 1
        prob = populations.value(a.p_quant, f"{p}.attn.p_quant")
        pv_scale = a.v_quant.alpha.detach().to(torch.float32).clone()
        pv_out = populations.accumulator(a.out_quant, f"{p}.attn.out_quant",
                                         lambda acc, s=pv_scale, al=prob.pop.alpha: potential_from_accumulator(acc, s, al),
                                         None)
        out = _stage(populations, a.out, f"{p}.attn.out", index, 3, i, pv_out.pop, None, None)
        ffn_in = populations.value(layer.ffn_in_quant, f"{p}.ffn_in_quant")
        ffn1 = _stage(populations, layer.ffn1, f"{p}.ffn1", index + 1, 4, i, ffn_in.pop, layer.ffn2_in_quant,
                      f"{p}.ffn2_in_quant")
        ffn2 = _stage(populations, layer.ffn2, f"{p}.ffn2", index + 2, 5, i, ffn1.out.pop, None, None)
        index += 3
        layers.append(SpikingLayer(i, inp, *stages, prob, pv_out, out, ffn_in, ffn1, ffn2,
                                   a.qk_weight_scale().clone(), a.heads, _digital(layer.attn_norm),
                                   _digital(layer.ffn_norm), int(cfg.kv_bits)))
    pooler_in = populations.value(bert.pooler_quant, "pooler_quant")
    pooler = _stage(populations, bert.pooler, "pooler", index, 0, None, pooler_in.pop, None, None)
    net = SpikingBert(cfg, _digital(bert.embeddings), layers, pooler_in, pooler, bert.pooler_act,
                      _digital(model.classifier), curve, adc_bits)
    net.coding = "mttfs" if populations.masked else "ttfs"
    return net


def _digital(module: nn.Module) -> nn.Module:
    """A frozen eval-mode copy of a digital block (later training of the student does not change the SNN).

    Binary embedding tables are frozen to their codes and scales once (the same values the student
    derives at every forward: ``codes * scale``), so they are not re-binarised per inference.
    """
    block = copy.deepcopy(module).eval()
    for param in block.parameters():
        param.requires_grad_(False)
    for sub in block.modules():
        if isinstance(sub, QuantEmbedding) and sub.binary and not sub.frozen:
            sub.freeze()
    return block
