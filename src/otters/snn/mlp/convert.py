"""Conversion of a QNN MLP by Proposition 1 (Otters, ICLR 2026, arXiv 2509.18968), and its reference.

Each quantizer becomes a firing population (T = 2^n - 1 steps, stepped threshold alpha*(T - k),
alpha/2 initial shift for rounding, signed offset folded into integer thresholds and an integer
accumulator correction); each quantized linear becomes a spiking linear stage whose synapses are
gamma_ij = w_ij * alpha_in * T (device output times weight code, read through the ADC); the bias
is the initial potential; residual adds run digitally between windows.

Accepted models: :class:`otters.nn.qmlp.QuantMLP`; an ``nn.Sequential`` of LSQQuantizer, binary
QuantLinear or MultiBitLinear, and ReLU (only right before an unsigned quantizer, where it changes
nothing). Anything without an exact spiking equivalent (float nn.Linear, GELU, LayerNorm, ...) is
refused, by name. :func:`reference_forward` is the QNN's own integer inference, layer by layer: what
the SNN must reproduce. The one entry for every model type is :func:`otters.snn.convert`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from otters.device import PAPER_CURVE, DecayCurve
from otters.errors import OttersError
from otters.nn.qlinear import QuantLinear
from otters.nn.qmlp import LayerValues, MultiBitLinear, QuantMLP, dequantize
from otters.quant import LSQQuantizer
from otters.snn.mlp.network import SpikingLinear, SpikingNetwork
from otters.snn.neuron import population_from_quantizer

_WHY = {
    nn.Linear: "its weights are floats; use otters.nn.QuantLinear (binary) or otters.nn.qmlp.MultiBitLinear (integer codes)",
    nn.LayerNorm: "a normalisation cannot run inside a spiking stage; compute it digitally between windows (BSPN)",
    nn.GELU: "a TTFS neuron realises only round/floor + clip (an LSQQuantizer), not a GELU",
    nn.SiLU: "a TTFS neuron realises only round/floor + clip (an LSQQuantizer), not a SiLU",
    nn.Tanh: "a TTFS neuron realises only round/floor + clip (an LSQQuantizer), not a tanh",
    nn.Softmax: "softmax is not a spiking stage; use a digital block (PTsoftmax) between windows",
    nn.Dropout: "remove dropout before conversion (identity at inference)",
}


def _refuse(name: str, module: nn.Module, why: str | None = None) -> OttersError:
    reason = why
    if reason is None:
        reason = next((v for k, v in _WHY.items() if isinstance(module, k)), "it has no exact spiking equivalent")
    return OttersError(f"cannot convert {name} ({type(module).__name__}): {reason}")


def _is_integer_linear(module: nn.Module) -> bool:
    return isinstance(module, MultiBitLinear) or (isinstance(module, QuantLinear) and module.binary)


def _refuse_linear(name: str, module: nn.Module) -> OttersError:
    if isinstance(module, QuantLinear):  # binary=False: a full-precision QuantLinear
        return _refuse(name, module, "binary=False keeps float weights; binarise it (binary=True) or use MultiBitLinear")
    return _refuse(name, module)


@dataclass
class _Block:
    name: str
    linear: nn.Module
    residual: bool
    quant_name: str | None
    quant: LSQQuantizer | None


@dataclass
class _Plan:
    input_name: str
    input_quant: LSQQuantizer
    blocks: list[_Block]


def _plan_qmlp(model: QuantMLP) -> _Plan:
    if not isinstance(model.input_quant, LSQQuantizer):
        raise _refuse("input_quant", model.input_quant, "the input must be quantized by an LSQQuantizer")
    blocks = []
    for i, layer in enumerate(model.layers):
        if not _is_integer_linear(layer):
            raise _refuse_linear(f"layers.{i}", layer)
        quant = model.quants[i] if i < len(model.quants) else None
        if quant is not None and not isinstance(quant, LSQQuantizer):
            raise _refuse(f"quants.{i}", quant)
        blocks.append(_Block(f"layers.{i}", layer, bool(model.residual[i]), None if quant is None else f"quants.{i}", quant))
    return _Plan("input_quant", model.input_quant, blocks)


def _plan_sequential(seq: nn.Sequential) -> _Plan:
    items = list(seq.named_children())
    if not items or not isinstance(items[0][1], LSQQuantizer):
        first = items[0] if items else ("(empty)", seq)
        raise _refuse(first[0], first[1], "a spiking network starts with an LSQQuantizer that encodes the input")
    input_name, input_quant = items[0]
    blocks, i = [], 1
    while i < len(items):
        name, module = items[i]
        if not _is_integer_linear(module):
            raise _refuse_linear(name, module)
        j, relu = i + 1, False
        if j < len(items) and isinstance(items[j][1], nn.ReLU):
            relu, j = True, j + 1
        quant_name, quant = (items[j] if j < len(items) else (None, None))
        if isinstance(quant, (QuantLinear, MultiBitLinear)):
            raise _refuse(name, module, "its output feeds another linear unquantized; put an LSQQuantizer between them")
        if quant is not None and not isinstance(quant, LSQQuantizer):
            raise _refuse(quant_name, quant)
        if relu and (quant is None or quant.signed):
            raise _refuse(items[i + 1][0], items[i + 1][1], "a ReLU is exact only right before an unsigned LSQQuantizer")
        blocks.append(_Block(name, module, False, quant_name, quant))
        i = j + 1 if quant is not None else j
    return _Plan(input_name, input_quant, blocks)


def _plan(qnn) -> _Plan:
    if isinstance(qnn, QuantMLP):
        return _plan_qmlp(qnn)
    if isinstance(qnn, nn.Sequential):
        return _plan_sequential(qnn)
    raise OttersError(
        f"otters.convert supports QuantMLP, nn.Sequential of LSQQuantizer/QuantLinear/ReLU, or a model with "
        f"a to_spiking() method; got {type(qnn).__name__}"
    )


def convert_mlp(qnn, curve: DecayCurve | None = None, adc_bits: int = 8) -> SpikingNetwork:
    """Plain TTFS conversion of a QuantMLP or nn.Sequential QNN (Otters, Prop. 1): the offset code gives
    silence to the lowest level. Raises OttersError naming any module with no exact equivalent."""
    curve = PAPER_CURVE if curve is None else curve
    plan = _plan(qnn)
    encoder = population_from_quantizer(plan.input_quant, plan.input_name)
    stages, width = [], plan.blocks[0].linear.in_features
    for index, block in enumerate(plan.blocks):
        if block.linear.in_features != width:
            raise OttersError(f"{block.name} expects {block.linear.in_features} inputs but receives {width}")
        codes, scale = block.linear.weight_codes()
        codes = codes.detach().to(torch.int64)
        if bool((codes.abs() > 2**15).any()):
            raise _refuse(block.name, block.linear, "weight codes beyond 16 bits")
        bias = None if block.linear.bias is None else block.linear.bias.detach().to(torch.float32).clone()
        out = None if block.quant is None else population_from_quantizer(block.quant, block.quant_name)
        stages.append(SpikingLinear(block.name, index, codes, scale.detach().clone(), bias, block.residual, out))
        width = block.linear.out_features
    return SpikingNetwork(encoder, stages, curve, adc_bits, plan.input_name)


@torch.no_grad()
def reference_forward(qnn, x: torch.Tensor) -> list[LayerValues]:
    """The QNN's own integer inference, layer by layer (what the SNN must reproduce).

    QuantMLP and hooked models: their ``integer_forward``; an nn.Sequential: its modules' integer
    methods in order (LSQQuantizer.levels, linear.integer_forward), names from the Sequential.
    """
    if hasattr(qnn, "integer_forward"):
        return qnn.integer_forward(x)
    plan = _plan(qnn)
    x = torch.as_tensor(x, dtype=torch.float32)
    levels, alpha = plan.input_quant.levels(x), plan.input_quant.alpha.detach()
    out = [LayerValues(plan.input_name, "levels", levels)]
    for block in plan.blocks:
        v = block.linear.integer_forward(levels, alpha)
        if block.residual:
            v = v + dequantize(levels, alpha)
        if block.quant is None:
            out.append(LayerValues(block.name, "potential", v))
            break
        levels, alpha = block.quant.levels(v), block.quant.alpha.detach()
        out.append(LayerValues(block.name, "levels", levels))
    return out
