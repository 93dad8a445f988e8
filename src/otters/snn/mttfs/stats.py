"""Level histograms of a QNN's firing populations: M-TTFS calibration and silent-neuron ratios.

Source: Matterhorn (arXiv 2601.22876): the M-TTFS mask gives silence to the most frequent value,
"calibrated on the data distribution"; its dead zone maps a range around it to silence too.

The histograms are recorded from the QNN's own integer inference: while :func:`record_levels` is
active, every call of a watched quantizer's ``levels`` (the eval path of QuantMLP, of an
nn.Sequential and of the BERT student) adds its output to a per-channel histogram. Silent ratios of
a population under each coding (docs/matterhorn.md):

- plain TTFS (offset code c = q - qmin): silent iff q = qmin;
- M-TTFS with silent level m: silent iff q = m; with a dead zone k (measured on the dead-zone QNN,
  whose levels already collapse |q - m| <= k onto m): silent iff q = m.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch

from otters.coding.mttfs import most_frequent_level, silent_fraction
from otters.errors import OttersError


@dataclass
class LevelHistogram:
    """Counts of each level qmin..qmax of one population: ``counts`` (channels, levels) int64
    (channels = 1 when recorded per layer). ``calls`` counts the recorded tensors."""

    name: str
    qmin: int
    qmax: int
    counts: np.ndarray
    calls: int = 0
    channel_dims: set = field(default_factory=set)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def layer_counts(self) -> np.ndarray:
        return self.counts.sum(axis=0)

    def silent_level(self, granularity: str = "layer"):
        """The most frequent level: an int (per layer) or an int64 array (per channel)."""
        if granularity == "layer":
            return int(most_frequent_level(self.layer_counts, self.qmin))
        if granularity == "channel":
            if self.counts.shape[0] == 1 and 1 not in self.channel_dims:
                raise OttersError(f"{self.name}: recorded per layer; record per channel to calibrate per channel")
            return most_frequent_level(self.counts, self.qmin)
        raise OttersError(f"granularity must be 'layer' or 'channel', got {granularity!r}")

    def silent_ratio(self, silent, dead_zone: int = 0) -> float:
        """Fraction of neurons with |q - m| <= dead_zone (m: int or per-channel array)."""
        counts = self.counts if np.ndim(silent) == 1 else self.layer_counts
        return silent_fraction(counts, self.qmin, silent, dead_zone)

    @property
    def ttfs_silent_ratio(self) -> float:
        """Plain TTFS: only the lowest level (offset code 0) is silent."""
        return float(self.layer_counts[0] / self.total) if self.total else 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "qmin": self.qmin, "qmax": self.qmax, "neurons": self.total,
                "histogram": [int(v) for v in self.layer_counts]}


def _add(hist: LevelHistogram, levels: torch.Tensor, mask: torch.Tensor | None, per_channel: bool) -> None:
    q = levels.detach().to(torch.int64).cpu()
    nbins = hist.qmax - hist.qmin + 1
    if per_channel:
        channels = int(q.shape[-1]) if q.dim() else 1
        if hist.counts.shape[0] != channels:
            if hist.calls:
                raise OttersError(f"{hist.name}: the channel count changed from {hist.counts.shape[0]} to {channels}; "
                                  "per-channel histograms need a fixed last dimension (record per layer)")
            hist.counts = np.zeros((channels, nbins), dtype=np.int64)
        hist.channel_dims.add(channels)
        index = (q - hist.qmin) + nbins * torch.arange(channels)
    else:
        index = q - hist.qmin
    if q.numel() and (int(q.min()) < hist.qmin or int(q.max()) > hist.qmax):
        raise OttersError(f"{hist.name}: levels outside [{hist.qmin}, {hist.qmax}]")
    index = index[mask.cpu().expand_as(index)] if mask is not None else index.reshape(-1)
    flat = torch.bincount(index, minlength=hist.counts.size).numpy()
    hist.counts += flat[: hist.counts.size].reshape(hist.counts.shape)
    hist.calls += 1


@contextlib.contextmanager
def record_levels(model: torch.nn.Module, names: list[str], per_channel: bool = False, mask_fn=None):
    """Yield {name: LevelHistogram}; within the block every ``levels`` call of the named quantizers
    is histogrammed. A quantizer called again on the very same input tensor (the BERT student's one
    attention-input spike train feeding Q, K and V) is counted once. ``mask_fn(levels) -> bool mask
    or None`` selects the real entries (e.g. no padded tokens). Restores the quantizers on exit.
    """
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules or not hasattr(modules[n], "levels")]
    if missing:
        raise OttersError(f"no quantizer named {missing[0]!r} in the model")
    hists = {}
    for n in names:
        q = modules[n]
        lo, hi = (-1, 1) if getattr(q, "sign_mode", False) else (int(q.qmin), int(q.qmax))
        hists[n] = LevelHistogram(n, lo, hi, np.zeros((1, hi - lo + 1), dtype=np.int64))

    def wrap(name, quantizer):
        inner = quantizer.levels
        last = {"x": None}

        def levels(x):
            out = inner(x)
            if x is not last["x"]:
                last["x"] = x
                _add(hists[name], out, None if mask_fn is None else mask_fn(out), per_channel)
            return out

        return levels

    try:
        for n in names:
            modules[n].levels = wrap(n, modules[n])
        yield hists
    finally:
        for n in names:
            modules[n].__dict__.pop("levels", None)


def token_mask_fn(attention_mask: torch.Tensor):
    """mask_fn for the BERT student: keeps real tokens of (B, L, C) tensors, real query-key pairs of
    (B, H, L, L) attention probabilities, real query tokens of (B, H, L, d) heads; (B, C) (pooler) whole."""
    real = attention_mask.to(torch.bool)
    B, L = real.shape

    def mask(levels: torch.Tensor):
        shape = tuple(levels.shape)
        if len(shape) == 3 and shape[:2] == (B, L):
            return real[:, :, None].expand(shape)
        if len(shape) == 4 and shape[0] == B and shape[2] == L:
            rows = real[:, None, :, None]
            if shape[3] == L:
                return (rows & real[:, None, None, :]).expand(shape)
            return rows.expand(shape)
        return None

    return mask
