"""The dead zone as a quantizer option: the QNN that an M-TTFS SNN with a dead zone equals exactly.

Source: Matterhorn (arXiv 2601.22876): "all values within a given range map to the silent state".
Our definition (docs/matterhorn.md): with silent level m and half-width k,

    levels_dz(x) = m          if |q - m| <= k,   q = clamp(round_half_up(x / alpha), qmin, qmax)
                 = q          otherwise

so k = 0 is plain (lossless) M-TTFS, and 2k + 1 levels fall silent (k = 3: 7 of the 16 4-bit
levels; about 96 % of a zero-centred signed population at LSQ's initial step). The dead zone is
lossy by design, so the QNN is trained (or fine-tuned) with it: forward alpha * levels_dz, gradient
straight through the dead zone (Bengio et al. 2013) on top of LSQ's (Esser et al., ICLR 2020).

``apply_dead_zone(model, k)`` swaps a model's LSQQuantizers for :class:`DeadZoneQuantizer` in place
(same alpha Parameter object, so optimizers keep working). The silent level and the half-width are
non-persistent buffers: checkpoints stay loadable by code that knows nothing about dead zones;
:func:`dead_zone_state` / :func:`load_dead_zone_state` carry them as JSON.
"""

from __future__ import annotations

import torch
from torch import nn

from otters.coding.mttfs import check_dead_zone, dead_zone_map
from otters.errors import OttersError
from otters.quant.lsq import LSQQuantizer, _ScaleGrad
from otters.quant.rounding import round_half_up_ste


class _DeadZoneSTE(torch.autograd.Function):
    """Forward: the dead-zone map of integer-valued levels (exact); backward: identity (straight-through)."""

    @staticmethod
    def forward(ctx, levels, silent, dead_zone):
        return torch.where((levels - silent).abs() <= dead_zone, silent.to(levels.dtype).expand_as(levels), levels)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None


def dead_zone_ste(levels: torch.Tensor, silent: torch.Tensor, dead_zone: int) -> torch.Tensor:
    """Levels (float, integer-valued) with |q - m| <= k set to m; gradient passes straight through."""
    if dead_zone == 0:
        return levels
    return _DeadZoneSTE.apply(levels, silent.to(levels.dtype), float(dead_zone))


class DeadZoneQuantizer(LSQQuantizer):
    """LSQ quantizer whose levels around the silent level m (|q - m| <= k) collapse to m.

    ``silent``: int64 buffer, 0-dim (per layer) or (channels,) (per channel, last dimension);
    ``dead_zone``: the half-width k >= 0. Sign mode (1-bit signed) admits only k = 0: its two levels
    differ by 2, a dead zone would make it constant.
    """

    def __init__(self, bits: int, signed: bool, dead_zone: int = 0, silent=None, pow2_init: bool = False):
        super().__init__(bits, signed, pow2_init)
        self.register_buffer("silent", torch.zeros((), dtype=torch.int64), persistent=False)
        self.dead_zone = 0
        self.set_dead_zone(dead_zone, _default_silent(self, "zero" if silent is None else silent))

    @classmethod
    def from_quantizer(cls, quantizer: LSQQuantizer, dead_zone: int = 0, silent="zero") -> "DeadZoneQuantizer":
        """A dead-zone quantizer sharing ``quantizer``'s alpha Parameter and state (no copy of alpha)."""
        new = cls(quantizer.bits, quantizer.signed, 0, None, quantizer.pow2_init)
        new.alpha = quantizer.alpha  # the same Parameter: optimizer groups keep pointing at it
        new.initialized = quantizer.initialized
        new.train(quantizer.training)
        new.set_dead_zone(dead_zone, _default_silent(new, silent))
        return new

    def set_dead_zone(self, dead_zone: int, silent=None) -> None:
        """Set k (and m: an int, or a per-channel sequence/tensor of ints within [qmin, qmax])."""
        k = check_dead_zone(dead_zone)
        if k and self.sign_mode:
            raise OttersError("a 1-bit sign-mode quantizer (levels -1, +1) cannot have a dead zone > 0")
        if silent is not None:
            m = torch.as_tensor(silent).detach().to(torch.int64).cpu()
            if m.dim() > 1:
                raise OttersError(f"silent levels are one per layer or one per channel, got shape {tuple(m.shape)}")
            allowed = (-1, 1) if self.sign_mode else (self.qmin, self.qmax)
            if self.sign_mode and not bool(((m == -1) | (m == 1)).all()):
                raise OttersError("silent levels of a sign-mode quantizer must be -1 or +1")
            if not bool(((m >= allowed[0]) & (m <= allowed[1])).all()):
                raise OttersError(f"silent levels must lie in [{self.qmin}, {self.qmax}], got {m.tolist()}")
            self.silent = m.to(self.alpha.device)
        self.dead_zone = k

    def extra_repr(self) -> str:
        m = self.silent.tolist() if self.silent.dim() == 0 else f"per-channel({self.silent.numel()})"
        return f"{super().extra_repr()}, dead_zone={self.dead_zone}, silent={m}"

    def levels(self, x: torch.Tensor) -> torch.Tensor:
        """dead_zone_map(clamp(round_half_up(x / alpha), qmin, qmax), m, k) as int64."""
        q = super().levels(x)
        return dead_zone_map(q, self.silent.to(q.device), self.dead_zone)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dead_zone == 0:
            return super().forward(x)
        self._prepare(x)
        if not self.training:
            return self.levels(x).to(x.dtype) * self.alpha.to(x.dtype)
        grad_factor = 1.0 / (x.numel() * self.qp) ** 0.5
        alpha = _ScaleGrad.apply(self.alpha, grad_factor).to(x.dtype)
        level = round_half_up_ste(torch.clamp(x / alpha, self.qmin, self.qmax))
        return dead_zone_ste(level, self.silent.to(x.device), self.dead_zone) * alpha


def _default_silent(quantizer: LSQQuantizer, silent):
    """'zero': the level of the value 0 (clamped into range; sign mode: +1, since sign(0) = +1);
    'qmin': plain TTFS's silent level; else the value itself (int or per-channel)."""
    if silent == "zero":
        return 1 if quantizer.sign_mode else min(max(0, quantizer.qmin), quantizer.qmax)
    if silent == "qmin":
        return quantizer.qmin
    return silent


def _replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def apply_dead_zone(model: nn.Module, dead_zone: int, silent="zero", names=None) -> list[str]:
    """Give ``model``'s quantizers a dead zone of half-width ``dead_zone`` around a silent level; in place.

    ``silent``: "zero" (default: the level of the value 0, the mode of zero-centred and post-ReLU
    activations; data-free, so training and resuming agree), "qmin" (plain TTFS's silent level), an
    int, or a dict quantizer name -> int / per-channel levels (e.g. from
    ``otters.snn.mttfs.calibrate_silent_levels``). ``names``: the quantizers to change (default: every
    LSQQuantizer except sign-mode ones, which are binary K/V operands, not spiking populations).
    Quantizers that already have a dead zone are updated in place. Returns the names changed.
    """
    k = check_dead_zone(dead_zone)
    found = {n: m for n, m in model.named_modules() if isinstance(m, LSQQuantizer)}
    if names is None:
        targets = [n for n, m in found.items() if not m.sign_mode and not n.endswith("weight_quant")]
    else:
        targets = list(names)
        unknown = [n for n in targets if n not in found]
        if unknown:
            raise OttersError(f"no quantizer named {unknown[0]!r}; quantizers are {', '.join(found) or '(none)'}")
    for name in targets:
        quantizer = found[name]
        m = silent.get(name, "zero") if isinstance(silent, dict) else silent
        m = _default_silent(quantizer, m)
        if isinstance(quantizer, DeadZoneQuantizer):
            quantizer.set_dead_zone(k, m)
        else:
            _replace_module(model, name, DeadZoneQuantizer.from_quantizer(quantizer, k, m))
    return targets


def dead_zone_state(model: nn.Module) -> dict:
    """JSON-ready {quantizer name: {"dead_zone": k, "silent": m (int or list)}} of every dead-zone quantizer."""
    return {
        name: {"dead_zone": int(m.dead_zone), "silent": m.silent.tolist()}
        for name, m in model.named_modules()
        if isinstance(m, DeadZoneQuantizer)
    }


def load_dead_zone_state(model: nn.Module, state: dict) -> list[str]:
    """Re-apply a :func:`dead_zone_state` dict to a freshly built model (e.g. after load_student)."""
    if not isinstance(state, dict):
        raise OttersError("a dead-zone state is a JSON object {quantizer name: {dead_zone, silent}}")
    changed = []
    for name, entry in state.items():
        try:
            k, m = entry["dead_zone"], entry["silent"]
        except (TypeError, KeyError):
            raise OttersError(f"dead-zone state of {name!r} needs 'dead_zone' and 'silent'") from None
        changed += apply_dead_zone(model, int(k), {name: m}, names=[name])
    return changed
