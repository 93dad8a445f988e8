"""A quantized MLP: the test bed of the lossless QNN -> SNN conversion.

Every linear has integer weight codes (1-bit Sorbet binarisation via otters.nn.QuantLinear, or
b-bit LSQ codes with one scale per matrix, :class:`MultiBitLinear`); every activation is an LSQ level (signed or unsigned, n = 1..8 bits); a layer whose
input and output widths agree may add its (dequantized) input back (a residual connection).

Two forwards share one set of parameters:

- training (``model.train()``): fake quantisation with straight-through / LSQ gradients;
- inference (``model.eval()`` / :meth:`QuantMLP.integer_forward`): integer levels in, the exact
  integer accumulator, then the shared affine map ``otters.quant.linear_from_levels``. The spiking
  network reproduces exactly this path (Otters, ICLR 2026, Proposition 1), so it is THE QNN.

Checkpoints: one safetensors file whose metadata holds the JSON config (never pickle).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import nn

from otters.errors import OttersError
from otters.io import load_tensors, save_tensors
from otters.nn.qlinear import QuantLinear
from otters.quant import LSQQuantizer, linear_from_levels

CHECKPOINT_KIND = "qmlp"


def dequantize(levels: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """x_hat = levels * alpha (float32): the value a quantized activation stands for (LSQ, eval).

    The residual path of both the QNN and the SNN uses this one expression, so the float sum
    V + x_hat is the same bit for bit in both.
    """
    return levels.to(torch.float32) * alpha.to(torch.float32)


class MultiBitLinear(nn.Module):
    """y = alpha_in * (W_codes @ levels_in) * w_scale + b with b-bit integer weight codes.

    Codes are signed LSQ levels in [-2^(b-1), 2^(b-1) - 1] with one learned scale per matrix
    (Esser et al., ICLR 2020); the bias stays float (the neuron's initial potential). Same interface
    as the 1-bit :class:`otters.nn.QuantLinear`: ``forward`` (training), ``weight_codes``,
    ``integer_forward`` (inference through otters.quant.linear_from_levels).
    """

    def __init__(self, in_features: int, out_features: int, weight_bits: int = 4, bias: bool = True):
        super().__init__()
        if not isinstance(weight_bits, int) or not 2 <= weight_bits <= 8:
            raise OttersError(f"multi-bit weights need 2..8 bits, got {weight_bits!r} (1 bit: use QuantLinear)")
        self.in_features, self.out_features, self.weight_bits = int(in_features), int(out_features), weight_bits
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.weight_quant = LSQQuantizer(weight_bits, signed=True)
        self.weight_quant.initialize_from(self.weight)  # LSQ init 2 mean|W| / sqrt(Qp), no data needed

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, weight_bits={self.weight_bits}, bias={self.bias is not None}"

    def weight_codes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes, scale): integer weight codes (out, in) and their float32 scale, W_q = codes * scale."""
        return self.weight_quant.levels(self.weight.detach()), self.weight_quant.alpha.detach().float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Training path: F.linear(x, W_q, b) with LSQ-quantized weights."""
        return F.linear(x, self.weight_quant(self.weight), self.bias)

    def integer_forward(self, levels: torch.Tensor, alpha_in: torch.Tensor) -> torch.Tensor:
        """Inference path: linear_from_levels(levels, codes, scale, alpha_in, bias) (exact accumulator)."""
        codes, scale = self.weight_codes()
        bias = None if self.bias is None else self.bias.detach()
        return linear_from_levels(levels, codes, scale, alpha_in.detach(), bias)


def make_linear(in_features: int, out_features: int, weight_bits: int = 1, bias: bool = True) -> nn.Module:
    """1-bit: otters.nn.QuantLinear (Sorbet binarisation); 2..8 bits: :class:`MultiBitLinear`."""
    if weight_bits == 1:
        return QuantLinear(in_features, out_features, bias=bias, binary=True)
    return MultiBitLinear(in_features, out_features, weight_bits, bias)


@dataclass
class QuantMLPConfig:
    """Geometry and quantisation of a :class:`QuantMLP` (stored in checkpoints)."""

    sizes: list[int]
    act_bits: int = 4
    weight_bits: int = 1
    signed_input: bool = True
    signed_hidden: bool = False
    residual: bool = False
    quantize_output: bool = True
    bias: bool = True
    extra: dict = field(default_factory=dict)


@dataclass
class LayerValues:
    """One layer of the integer forward: its name, 'levels' (int64) or 'potential' (float32), the values."""

    name: str
    kind: str
    values: torch.Tensor


class QuantMLP(nn.Module):
    """x -> Q_in -> [linear -> (+ residual) -> Q_l] * depth (last Q optional: digital readout).

    Linears: otters.nn.QuantLinear (1-bit) or :class:`MultiBitLinear` (2..8-bit codes).

    Hidden quantizers are unsigned (floor at 0: the ReLU) unless ``signed_hidden``. A residual adds
    the dequantized layer input to the layer's potential before its quantizer, for every layer whose
    input and output widths match (Sorbet-style residual in the digital domain).
    """

    def __init__(self, config: QuantMLPConfig):
        super().__init__()
        sizes = [int(s) for s in config.sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise OttersError(f"QuantMLP needs at least two positive sizes [in, ..., out], got {config.sizes}")
        self.config = config
        self.input_quant = LSQQuantizer(config.act_bits, signed=config.signed_input)
        self.layers = nn.ModuleList(
            make_linear(a, b, config.weight_bits, config.bias) for a, b in zip(sizes[:-1], sizes[1:])
        )
        n_quant = len(self.layers) if config.quantize_output else len(self.layers) - 1
        self.quants = nn.ModuleList(LSQQuantizer(config.act_bits, signed=config.signed_hidden) for _ in range(n_quant))
        self.residual = [config.residual and a == b for a, b in zip(sizes[:-1], sizes[1:])]

    def quantizer_names(self) -> list[str]:
        """Names of the quantizers in firing order: 'input_quant', 'quants.0', ..."""
        return ["input_quant"] + [f"quants.{i}" for i in range(len(self.quants))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Training: fake-quant float path. Eval: the integer path, last layer dequantized."""
        if not self.training:
            last = self.integer_forward(x)[-1]
            if last.kind == "potential":
                return last.values
            return dequantize(last.values, self.quants[-1].alpha.detach())
        h = self.input_quant(x)
        for i, layer in enumerate(self.layers):
            v = layer(h)
            if self.residual[i]:
                v = v + h
            h = self.quants[i](v) if i < len(self.quants) else v
        return h

    @torch.no_grad()
    def integer_forward(self, x: torch.Tensor) -> list[LayerValues]:
        """The QNN's inference, layer by layer: input levels, then each layer's levels (or potential).

        levels_0 = Q_in(x); V_l = linear_from_levels(levels_l, codes_l, s_l, alpha_l, b_l)
        [+ levels_l * alpha_l if residual]; levels_(l+1) = Q_l(V_l) (Otters, Prop. 1; Sorbet QNN).
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() < 1 or x.shape[-1] != self.layers[0].in_features:
            raise OttersError(
                f"QuantMLP expects inputs with {self.layers[0].in_features} features in the last dim, "
                f"got shape {tuple(x.shape)}"
            )
        if not bool(torch.isfinite(x).all()):
            raise OttersError("QuantMLP inputs contain NaN or inf; clean the data first")
        levels = self.input_quant.levels(x)
        alpha = self.input_quant.alpha.detach()
        out = [LayerValues("input_quant", "levels", levels)]
        for i, layer in enumerate(self.layers):
            v = layer.integer_forward(levels, alpha)
            if self.residual[i]:
                v = v + dequantize(levels, alpha)
            if i < len(self.quants):
                levels, alpha = self.quants[i].levels(v), self.quants[i].alpha.detach()
                out.append(LayerValues(f"layers.{i}", "levels", levels))
            else:
                out.append(LayerValues(f"layers.{i}", "potential", v))
        return out


def _set_alpha(quantizer: LSQQuantizer, value: float) -> None:
    with torch.no_grad():
        quantizer.alpha.fill_(float(value))
        quantizer.initialized.fill_(True)


def _spread_alpha(q: LSQQuantizer, x: torch.Tensor, factor: float) -> float:
    """A step that spreads x over the level range: factor * 3 std(x) / (half the range)."""
    span = 1.0 if q.sign_mode else (q.qmax - q.qmin + 1) / (2.0 if q.signed else 1.0)
    std = float(x.float().std()) if x.numel() > 1 else float(x.abs().max())
    return max(factor * 3.0 * std / span, 1e-6)


@torch.no_grad()
def random_qmlp(config: QuantMLPConfig, calibration: torch.Tensor, seed: int = 0) -> QuantMLP:
    """A QuantMLP with random weights, biases and steps, calibrated so that levels are spread.

    Each step alpha is (a random factor in [0.5, 2]) * 3 std(input of the quantizer) / half-range,
    measured on ``calibration`` through the integer path, so every level is exercised.
    """
    gen = torch.Generator().manual_seed(int(seed))
    model = QuantMLP(config)
    model.eval()
    for layer in model.layers:
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) / math.sqrt(layer.in_features))
        if layer.bias is not None:
            layer.bias.copy_(0.3 * torch.randn(layer.bias.shape, generator=gen))
        if isinstance(layer, MultiBitLinear):
            layer.weight_quant.initialize_from(layer.weight)

    def factor() -> float:
        return float(2.0 ** (2.0 * torch.rand((), generator=gen) - 1.0))

    x = torch.as_tensor(calibration, dtype=torch.float32)
    _set_alpha(model.input_quant, _spread_alpha(model.input_quant, x, factor()))
    levels, alpha = model.input_quant.levels(x), model.input_quant.alpha.detach()
    for i, layer in enumerate(model.layers):
        v = layer.integer_forward(levels, alpha)
        if model.residual[i]:
            v = v + dequantize(levels, alpha)
        if i < len(model.quants):
            _set_alpha(model.quants[i], _spread_alpha(model.quants[i], v, factor()))
            levels, alpha = model.quants[i].levels(v), model.quants[i].alpha.detach()
    return model


def save_qmlp(model: QuantMLP, path: str | os.PathLike):
    """Write a QuantMLP checkpoint: safetensors state dict + JSON config in the header metadata."""
    meta = {"otters_kind": CHECKPOINT_KIND, "config": json.dumps(asdict(model.config))}
    state = {k: v for k, v in model.state_dict().items()}
    return save_tensors(path, state, metadata=meta)


def read_checkpoint_kind(path: str | os.PathLike) -> tuple[str, dict]:
    """(kind, metadata) of an otters safetensors checkpoint (kind '' when the header names none)."""
    if not Path(path).is_file():
        raise OttersError(f"checkpoint file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types on corrupt headers
        raise OttersError(f"{path} is not a readable safetensors file ({exc})") from None
    return meta.get("otters_kind", ""), meta


def load_qmlp(path: str | os.PathLike) -> QuantMLP:
    """Read a checkpoint written by :func:`save_qmlp` (eval mode)."""
    kind, meta = read_checkpoint_kind(path)
    if kind != CHECKPOINT_KIND:
        raise OttersError(f"{path} is not a QuantMLP checkpoint (kind {kind!r}); write it with save_qmlp")
    try:
        config = QuantMLPConfig(**json.loads(meta["config"]))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise OttersError(f"{path}: malformed QuantMLP config in the header ({exc})") from None
    model = QuantMLP(config)
    state = load_tensors(path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise OttersError(f"{path}: checkpoint does not match its config (missing {missing}, unexpected {unexpected})")
    return model.eval()
