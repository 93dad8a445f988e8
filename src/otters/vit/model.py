"""A small spiking Vision Transformer with a choice of attention (A2OS2A seed/paper, binary, ann).

Read top to bottom (nanoGPT style). Layout after Spikformer (ICLR 2023) and the Spike-driven
Transformer (NeurIPS 2023); tensors are time-first, (T, B, ...):

    image -> spiking patch splitting: [conv3x3 - BN - maxpool2 - LIF] x stages, + conv position term
          -> depth x block:  x = x + Attention(x);  x = x + MLP(x)     (membrane shortcuts: the
             residual stream holds real membrane inputs, every sub-block starts with a LIF)
          -> head: LIF -> mean over tokens -> linear -> mean over T

Every conv/linear after the first sees spikes only, so its products are accumulates (ACs); the
first conv sees real pixels (MACs). The static image is the same at every step, so the first
conv + BN is computed once and broadcast over T (same result, T times fewer MACs). BatchNorm folds
into the preceding weights (or, before a neuron, into its threshold and bias) at inference, so it
is not counted. ``forward(x, stats)`` fills an :class:`OpStats` with ACs, MACs and firing rates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from otters.errors import OttersError
from otters.vit.attention import attention_core, attention_ops, get_preset
from otters.vit.neurons import LIF, ReLUNeuron, make_neuron


@dataclass
class ViTConfig:
    """Geometry of the spiking ViT; ``attention`` picks the preset (seed, paper, binary, ann)."""

    image_size: int = 28
    in_channels: int = 1
    num_classes: int = 10
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_ratio: int = 4
    T: int = 4
    attention: str = "seed"
    pool_stages: int = 2  # the patch splitter halves the image this many times: 28 -> 7 (49 tokens)
    tau: float = 2.0
    surrogate: str = "sigmoid"

    def validate(self) -> "ViTConfig":
        get_preset(self.attention)
        if self.T < 1 or self.depth < 1 or self.heads < 1 or self.pool_stages < 1:
            raise OttersError("T, depth, heads and pool_stages must all be >= 1")
        if self.dim % self.heads or self.dim % 2 ** (self.pool_stages - 1):
            raise OttersError(f"dim {self.dim} must be divisible by heads ({self.heads}) and by "
                              f"2^(pool_stages-1) = {2 ** (self.pool_stages - 1)}")
        if self.image_size % 2**self.pool_stages:
            raise OttersError(f"image size {self.image_size} is not divisible by 2^{self.pool_stages}")
        return self

    @classmethod
    def from_dict(cls, d: dict) -> "ViTConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise OttersError(f"unknown ViT config keys {sorted(unknown)}; is this a ViT checkpoint?")
        return cls(**d).validate()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OpStats:
    """Operation counts and firing rates summed over the images of one or more forward passes."""

    images: int = 0
    acs: int = 0  # accumulates (select + add/subtract), whole network
    macs: int = 0  # multiply-accumulates, whole network
    attn_acs: int = 0  # of which in the attention cores (Q K^T, A V)
    attn_macs: int = 0
    sites: dict = field(default_factory=dict)  # neuron name -> [non-zeros, elements]

    def rate(self, name: str, s: torch.Tensor) -> None:
        entry = self.sites.setdefault(name, [0, 0])
        entry[0] += int((s != 0).sum())
        entry[1] += s.numel()

    def summary(self) -> dict:
        """Per-image averages and firing rates (fraction of non-zero outputs per neuron site)."""
        n = max(self.images, 1)
        return {
            "acs_per_image": self.acs / n, "macs_per_image": self.macs / n,
            "attn_acs_per_image": self.attn_acs / n, "attn_macs_per_image": self.attn_macs / n,
            "firing_rates": {k: v[0] / max(v[1], 1) for k, v in self.sites.items()},
        }


def _seq(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-step module to (T, B, ...) by folding T into the batch."""
    y = module(x.flatten(0, 1))
    return y.view(x.shape[:2] + y.shape[1:])


def _conv_acs(s: torch.Tensor, conv: nn.Conv2d) -> int:
    """Non-zero products of a 3x3 conv on (T, B, C, H, W) input: sum of non-zero inputs in each
    receptive field (padding aware), times the output channels."""
    nz = (s.flatten(0, 1) != 0).float().sum(1, keepdim=True)
    ones = torch.ones(1, 1, *conv.kernel_size)
    return int(F.conv2d(nz, ones, padding=conv.padding).sum()) * conv.out_channels


def _neuron(kind: str, cfg: ViTConfig) -> nn.Module:
    """The neuron of a kind with the config's constants (binary/ternary take a surrogate, relu only tau)."""
    if kind in ("binary", "ternary"):
        return make_neuron(kind, tau=cfg.tau, surrogate=cfg.surrogate)
    return make_neuron(kind, tau=cfg.tau) if kind == "relu" else make_neuron(kind)


class LinearBN(nn.Module):
    """y = BN(W x) on tokens (T, B, N, C); BN over channels (folds into W at inference)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(c_in, c_out, bias=False)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor, stats: OpStats | None = None) -> torch.Tensor:
        if stats is not None:  # input spikes (or ReLU/ternary outputs): one AC per non-zero and output
            stats.acs += int((x != 0).sum()) * self.linear.out_features
        y = self.linear(x)
        return self.bn(y.flatten(0, -2)).view(y.shape)


class PatchSplitting(nn.Module):
    """Spiking patch splitting: conv-BN-maxpool-LIF stages, then a conv position term added to the
    membrane (x + BN(conv(LIF(x)))); output tokens (T, B, N, dim)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        widths = [cfg.dim // 2 ** (cfg.pool_stages - 1 - i) for i in range(cfg.pool_stages)]
        c_in = cfg.in_channels
        self.convs, self.bns, self.lifs = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for width in widths:
            self.convs.append(nn.Conv2d(c_in, width, 3, padding=1, bias=False))
            self.bns.append(nn.BatchNorm2d(width))
            self.lifs.append(LIF(cfg.tau, surrogate=cfg.surrogate))
            c_in = width
        self.rpe_conv = nn.Conv2d(cfg.dim, cfg.dim, 3, padding=1, bias=False)
        self.rpe_bn = nn.BatchNorm2d(cfg.dim)
        self.T = cfg.T

    def forward(self, img: torch.Tensor, stats: OpStats | None = None) -> torch.Tensor:
        conv0 = self.convs[0]
        x = F.max_pool2d(self.bns[0](conv0(img)), 2)  # static image: computed once, not T times
        if stats is not None:  # real pixels: MACs
            stats.macs += _conv_acs(img.unsqueeze(0), conv0)
        x = x.unsqueeze(0).expand(self.T, *x.shape)
        for i in range(1, len(self.convs)):
            s = self.lifs[i - 1](x)
            if stats is not None:
                stats.rate(f"sps.lif{i - 1}", s)
                stats.acs += _conv_acs(s, self.convs[i])
            x = _seq(lambda z, i=i: F.max_pool2d(self.bns[i](self.convs[i](z)), 2), s)
        s = self.lifs[-1](x)
        if stats is not None:
            stats.rate("sps.rpe_lif", s)
            stats.acs += _conv_acs(s, self.rpe_conv)
        x = x + _seq(lambda z: self.rpe_bn(self.rpe_conv(z)), s)
        return x.flatten(3).transpose(2, 3)  # (T, B, N, dim)


class Attention(nn.Module):
    """Spiking self-attention: s = LIF(x); Q, K, V = neurons(BN(W s)); Y = core(Q, K, V);
    out = BN(W_o LIF(BN(Y))). The preset picks the neurons and the core (otters.vit.attention)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.preset = p = get_preset(cfg.attention)
        self.heads = cfg.heads
        self.in_lif = LIF(cfg.tau, surrogate=cfg.surrogate)
        self.qkv = LinearBN(cfg.dim, 3 * cfg.dim)
        self.q_neuron, self.k_neuron, self.v_neuron = (_neuron(kind, cfg) for kind in (p.q, p.k, p.v))
        self.weight_neuron = ReLUNeuron(cfg.tau) if p.weights == "relu" else None
        self.out_bn = nn.BatchNorm1d(cfg.dim) if p.out_norm else None
        self.out_lif = LIF(cfg.tau, v_th=p.out_threshold, surrogate=cfg.surrogate)
        self.proj = LinearBN(cfg.dim, cfg.dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (T, B, N, D) -> (T, B, H, N, D/H)
        T, B, N, D = x.shape
        return x.view(T, B, N, self.heads, D // self.heads).transpose(2, 3)

    def forward(self, x: torch.Tensor, stats: OpStats | None = None, name: str = "attn") -> torch.Tensor:
        s = self.in_lif(x)
        q, k, v = self.qkv(s, stats).chunk(3, dim=-1)
        q, k, v = (self._heads(n(t)) for n, t in zip((self.q_neuron, self.k_neuron, self.v_neuron), (q, k, v)))
        y = attention_core(q, k, v, self.preset, self.weight_neuron)
        if stats is not None:
            ops = attention_ops(q, k, v, self.preset, self.weight_neuron)
            stats.attn_acs += ops["acs"]
            stats.attn_macs += ops["macs"]
            stats.acs += ops["acs"]
            stats.macs += ops["macs"]
            for tag, t in (("in", s), ("q", q), ("k", k), ("v", v)):
                stats.rate(f"{name}.{tag}", t)
        T, B, H, N, d = y.shape
        y = y.transpose(2, 3).reshape(T, B, N, H * d)
        if self.out_bn is not None:
            y = self.out_bn(y.flatten(0, -2)).view(y.shape)
        y = self.out_lif(y)
        if stats is not None:
            stats.rate(f"{name}.out", y)
        return self.proj(y, stats)


class MLP(nn.Module):
    """Spiking MLP: out = BN(W2 LIF(BN(W1 LIF(x))))."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.in_lif = LIF(cfg.tau, surrogate=cfg.surrogate)
        self.fc1 = LinearBN(cfg.dim, cfg.mlp_ratio * cfg.dim)
        self.hidden_lif = LIF(cfg.tau, surrogate=cfg.surrogate)
        self.fc2 = LinearBN(cfg.mlp_ratio * cfg.dim, cfg.dim)

    def forward(self, x: torch.Tensor, stats: OpStats | None = None, name: str = "mlp") -> torch.Tensor:
        s = self.in_lif(x)
        h = self.hidden_lif(self.fc1(s, stats))
        if stats is not None:
            stats.rate(f"{name}.in", s)
            stats.rate(f"{name}.hidden", h)
        return self.fc2(h, stats)


class Block(nn.Module):
    """x = x + Attention(x); x = x + MLP(x) (membrane shortcuts)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.attn = Attention(cfg)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, stats: OpStats | None = None, name: str = "block") -> torch.Tensor:
        x = x + self.attn(x, stats, f"{name}.attn")
        return x + self.mlp(x, stats, f"{name}.mlp")


class SpikingViT(nn.Module):
    """The whole network: image (B, C, H, W) -> logits (B, classes), averaged over T steps."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.patch = PatchSplitting(cfg)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.head_lif = LIF(cfg.tau, surrogate=cfg.surrogate)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)

    def forward(self, img: torch.Tensor, stats: OpStats | None = None) -> torch.Tensor:
        if img.dim() != 4 or img.shape[1:] != (self.cfg.in_channels, self.cfg.image_size, self.cfg.image_size):
            raise OttersError(f"expected images of shape (B, {self.cfg.in_channels}, {self.cfg.image_size}, "
                              f"{self.cfg.image_size}), got {tuple(img.shape)}")
        x = self.patch(img, stats)
        for i, block in enumerate(self.blocks):
            x = block(x, stats, f"block{i}")
        s = self.head_lif(x)
        if stats is not None:
            # the token mean's 1/N folds into the head weights, so each spike costs num_classes ACs
            stats.rate("head.in", s)
            stats.acs += int((s != 0).sum()) * self.cfg.num_classes
            stats.images += img.shape[0]
        return self.head(s.mean(2)).mean(0)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
