"""Your own network in: a float MLP (Linear / ReLU / Flatten / Dropout) -> an otters QNN.

:func:`quantize` reads a float ``nn.Sequential`` (nested ones are flattened) or any module whose
``torch.fx`` trace is a single chain of those operations, copies its weights into a
:class:`otters.nn.qmlp.QuantMLP` and calibrates every activation step on ``calibration_inputs``
(post-training quantisation). Then ``otters.finetune_qat`` (quantisation-aware training) recovers the
accuracy the rounding costs, and ``otters.convert`` / ``otters.verify`` work as for any QuantMLP.

The mapping is the one the lossless conversion needs (Otters, ICLR 2026, Proposition 1): every
activation of the float network becomes an LSQ level (Esser et al., ICLR 2020): the input a signed
(or, for non-negative data, unsigned) ``act_bits`` code, each hidden ReLU an unsigned one (its floor
at 0 is the ReLU); weights become 1-bit Sorbet codes or ``weight_bits``-bit LSQ codes; the last
linear is the digital readout (its potential is the logit). Dropout is the identity at inference and
is dropped; a Flatten is allowed before the first Linear (the QNN then takes flattened inputs).

Step calibration: for each quantizer, the step alpha minimising the mean squared quantisation error
on the calibration activations, searched over alpha = c * max|x| / Qp for c on a grid in (0, 1]
(clipping outliers trades range for resolution; the grid keeps it deterministic, no gradient).
"""

from __future__ import annotations

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from otters.errors import OttersError
from otters.nn.qmlp import MultiBitLinear, QuantMLP, QuantMLPConfig
from otters.quant import LSQQuantizer

# Fractions of max|x| / Qp tried for each step (coarse to fine; 1.0 = no clipping).
STEP_GRID = tuple(round(0.05 * i, 2) for i in range(2, 21))
TAKES = "Linear, ReLU, Flatten and Dropout"


def _chain(model: nn.Module) -> list[tuple[str, nn.Module | str]]:
    """[(name, module or 'relu' / 'flatten')] in execution order, or an OttersError naming the first
    operation that is not one of Linear / ReLU / Flatten / Dropout."""
    if isinstance(model, nn.Sequential):
        out = []
        for name, child in model.named_children():
            inner = _chain(child) if isinstance(child, nn.Sequential) else [(name, child)]
            out += [(f"{name}.{n}" if isinstance(child, nn.Sequential) else n, m) for n, m in inner]
        return out
    return _traced_chain(model)


def _traced_chain(model: nn.Module) -> list[tuple[str, nn.Module | str]]:
    """The chain of a non-Sequential module through torch.fx (forward must be one path)."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as exc:  # noqa: BLE001 - fx raises many types (TraceError, TypeError, ...) on data-dependent flow
        raise OttersError(f"otters.quantize cannot trace {type(model).__name__} ({exc}); "
                          f"give an nn.Sequential of {TAKES}") from None
    functions = {F.relu: "relu", torch.relu: "relu", torch.flatten: "flatten", F.dropout: "dropout"}
    out, previous = [], None
    for node in graph.nodes:
        if node.op in ("placeholder", "output"):
            previous = node if node.op == "placeholder" else previous
            continue
        if not node.args or node.args[0] is not previous:
            raise OttersError(f"otters.quantize: {node.name} does not continue a single chain of layers; "
                              f"give an nn.Sequential of {TAKES}")
        if node.op == "call_module":
            out.append((str(node.target), model.get_submodule(node.target)))
        elif node.op == "call_function" and functions.get(node.target):
            out.append((node.name, functions[node.target]))
        elif node.op == "call_method" and node.target in ("relu", "flatten"):
            out.append((node.name, node.target))
        else:
            raise OttersError(f"otters.quantize cannot take {node.name} ({node.target}): an otters QNN is "
                              f"built of {TAKES}")
        previous = node
    return out


def _layers(model: nn.Module) -> tuple[list[nn.Linear], bool]:
    """(float linears in order, whether the hidden linears are followed by ReLUs)."""
    linears, relu_after, seen_linear = [], [], False
    for name, op in _chain(model):
        if isinstance(op, nn.Dropout) or op == "dropout":
            continue
        if isinstance(op, nn.Flatten) or op == "flatten":
            if seen_linear:
                raise OttersError(f"otters.quantize: {name} (Flatten) comes after a Linear; flatten the input "
                                  "before the first Linear")
            continue
        if isinstance(op, nn.ReLU) or op == "relu":
            if not linears or relu_after[-1]:
                raise OttersError(f"otters.quantize: {name} (ReLU) does not follow a Linear")
            relu_after[-1] = True
            continue
        if type(op) is nn.Linear:
            linears.append(op)
            relu_after.append(False)
            seen_linear = True
            continue
        kind = type(op).__name__ if isinstance(op, nn.Module) else str(op)
        raise OttersError(f"otters.quantize cannot take {name} ({kind}): an otters QNN is built of {TAKES}")
    if not linears:
        raise OttersError(f"otters.quantize: the model has no Linear layer (it takes {TAKES})")
    if relu_after[-1]:
        raise OttersError("otters.quantize: a ReLU after the last Linear clips the logits; remove it (the last "
                          "Linear is the digital readout)")
    hidden = relu_after[:-1]
    if any(hidden) and not all(hidden):
        raise OttersError("otters.quantize: either every hidden Linear is followed by a ReLU or none is; "
                          f"this model mixes them ({hidden})")
    for a, b in zip(linears[:-1], linears[1:]):
        if a.out_features != b.in_features:
            raise OttersError(f"otters.quantize: a Linear gives {a.out_features} features but the next takes "
                              f"{b.in_features}")
    return linears, bool(hidden) and all(hidden)


@torch.no_grad()
def calibrate_step(quantizer: LSQQuantizer, x: torch.Tensor) -> float:
    """Set ``quantizer``'s step to the grid value with the least squared error on ``x``; returns it."""
    x = x.detach().to(torch.float32).reshape(-1)
    top = float(x.abs().max()) if x.numel() else 0.0
    if quantizer.sign_mode or top == 0.0:
        quantizer.initialize_from(x if x.numel() else torch.ones(1))
        return float(quantizer.alpha)
    best, best_err = None, float("inf")
    for c in STEP_GRID:
        alpha = max(c * top / quantizer.qp, 1e-8)
        q = torch.clamp(torch.floor(x / alpha + 0.5), quantizer.qmin, quantizer.qmax) * alpha
        err = float(((q - x) ** 2).mean())
        if err < best_err:
            best, best_err = alpha, err
    quantizer.alpha.fill_(best)
    quantizer.initialized.fill_(True)
    return best


@torch.no_grad()
def quantize(model: nn.Module, calibration_inputs, act_bits: int = 4, weight_bits: int = 1,
             signed_input: bool | None = None) -> QuantMLP:
    """The otters QNN of a float MLP: weights copied, every activation step calibrated (eval mode).

    ``calibration_inputs``: a batch of typical inputs (a few hundred rows; flattened if the model
    flattens). ``act_bits``: levels of every activation (T = 2^n - 1 steps per TTFS window);
    ``weight_bits``: 1 (Sorbet binary weights, one scale per matrix) or 2..8 (LSQ codes).
    ``signed_input``: default True unless every calibration input is >= 0 (pixels).
    Raises OttersError naming the first module an otters QNN cannot take.
    """
    linears, relu_hidden = _layers(model)
    x = torch.as_tensor(calibration_inputs, dtype=torch.float32)
    x = x.reshape(x.shape[0], -1) if x.dim() > 2 else x
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] != linears[0].in_features:
        raise OttersError(f"calibration inputs must be a batch (>= 2 rows) of {linears[0].in_features} features, "
                          f"got shape {tuple(torch.as_tensor(calibration_inputs).shape)}")
    if not bool(torch.isfinite(x).all()):
        raise OttersError("calibration inputs contain NaN or inf; clean the data first")
    if signed_input is None:
        signed_input = bool((x < 0).any())
    sizes = [linears[0].in_features] + [layer.out_features for layer in linears]
    config = QuantMLPConfig(sizes=sizes, act_bits=int(act_bits), weight_bits=int(weight_bits),
                            signed_input=signed_input, signed_hidden=not relu_hidden, quantize_output=False,
                            bias=all(layer.bias is not None for layer in linears),
                            extra={"source": "otters.quantize", "float_model": type(model).__name__})
    qnn = QuantMLP(config)
    for target, source in zip(qnn.layers, linears):
        target.weight.copy_(source.weight.detach().to(torch.float32))
        if target.bias is not None:
            target.bias.copy_(source.bias.detach().to(torch.float32))
        if isinstance(target, MultiBitLinear):
            _calibrate_weights(target)
    qnn.eval()
    calibrate_step(qnn.input_quant, x)
    levels, alpha = qnn.input_quant.levels(x), qnn.input_quant.alpha.detach()
    for i, layer in enumerate(qnn.layers[:-1]):
        v = layer.integer_forward(levels, alpha)
        calibrate_step(qnn.quants[i], v)
        levels, alpha = qnn.quants[i].levels(v), qnn.quants[i].alpha.detach()
    return qnn


def _calibrate_weights(layer: MultiBitLinear) -> None:
    """Weight step by the same least-squares grid as the activations (signed codes)."""
    calibrate_step(layer.weight_quant, layer.weight)


__all__ = ["STEP_GRID", "calibrate_step", "quantize"]
