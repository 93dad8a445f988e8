"""Firing populations: TTFS neurons that turn a membrane potential into one spike per window.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1, conditions 4-5: after its integration
window a neuron holding potential V fires in the next window at the first step k whose stepped
threshold theta(t_k) = alpha*(T - k) it reaches, and never again (at most one spike per inference).

Exactness (project contract). The QNN's quantizer computes clamp(floor(V/alpha + 1/2), qmin, qmax).
We compare in normalised units y = V/alpha + 1/2 (the alpha/2 rounding shift is the neuron's
initial potential) against the integer thresholds theta_k = T - k + qmin, k = 0..T-1 (the signed
offset qmin shifts them). For an integer m and a float y, y >= m <=> floor(y) >= m exactly, so the
first k with y >= theta_k is k = T - (min(floor(y), qmax) - qmin): the spike step encodes the code
c = level - qmin = T - k. A neuron below the last threshold (c = 0, level qmin) stays silent.
Sign mode (1-bit signed, levels {-1, +1}): y = V, one threshold 0, code c = (level + 1)/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from otters.errors import OttersError


@dataclass(frozen=True)
class FiringPopulation:
    """A group of TTFS neurons sharing a step alpha and a stepped threshold.

    Attributes: ``name`` (the QNN quantizer it replaces), ``bits`` (n, T = 2^n - 1), ``alpha``
    (float32 0-dim), ``qmin``/``qmax`` (level range), ``code_scale``/``code_offset`` (level =
    code_scale * code + code_offset, code = T - k in [0, T], silent = code 0), ``shift`` (initial
    potential in units of alpha: 1/2 for rounding quantizers), ``thresholds`` (float32, theta_k for
    k = 0..T-1 in normalised units, non-increasing), ``sign_mode`` (compare V itself with 0).
    """

    name: str
    bits: int
    alpha: torch.Tensor
    qmin: int
    qmax: int
    code_scale: int
    code_offset: int
    shift: float
    thresholds: torch.Tensor
    sign_mode: bool = False

    @property
    def T(self) -> int:
        """Steps per window, T = 2^n - 1 (Prop. 1, condition 1)."""
        return 2**self.bits - 1

    def normalised(self, potential: torch.Tensor) -> torch.Tensor:
        """y = V/alpha + shift (same float32 ops as the quantizer: floor(V/alpha + 1/2)); sign mode: y = V."""
        if self.sign_mode:
            return potential
        y = potential / self.alpha
        return y + self.shift if self.shift else y

    @property
    def uniform(self) -> bool:
        """True when the thresholds are consecutive integers theta_k = theta_(T-1) + (T-1-k)."""
        cached = self.__dict__.get("_uniform")
        if cached is None:
            expected = self.thresholds[-1] + torch.arange(self.T - 1, -1, -1, dtype=self.thresholds.dtype)
            cached = bool(torch.equal(self.thresholds, expected)) and float(self.thresholds[-1]).is_integer()
            object.__setattr__(self, "_uniform", cached)
        return cached

    def fire(self, potential: torch.Tensor) -> torch.Tensor:
        """Spike step of each neuron (int64; T = silent): the first k with y >= theta_k.

        Vectorised: thresholds are non-increasing in k, so the failing steps form a prefix and
        k = #{k : theta_k > y} = T - #{theta <= y} (one ``searchsorted`` on the ascending list).
        For consecutive integer thresholds (every converted quantizer) the count has the closed
        form #{theta <= y} = clamp(floor(y) - theta_(T-1) + 1, 0, T), i.e.
        k = clamp(T + theta_(T-1) - 1 - floor(y), 0, T), exact because y >= m <=> floor(y) >= m.
        """
        y = self.normalised(potential)
        if self.uniform:
            top = float(self.T) + float(self.thresholds[-1]) - 1.0
            return torch.clamp(top - torch.floor(y), 0.0, float(self.T)).to(torch.int64)
        ascending = torch.flip(self.thresholds, dims=(0,)).to(y.dtype)
        return self.T - torch.searchsorted(ascending, y.contiguous(), right=True)

    def decode(self, steps: torch.Tensor) -> torch.Tensor:
        """Levels (int64) of spike steps: level = code_scale * (T - k) + code_offset (silent: k = T)."""
        if self.code_scale == 1:
            return (self.T + self.code_offset) - steps
        return (self.code_scale * self.T + self.code_offset) - self.code_scale * steps

    def encode(self, levels: torch.Tensor) -> torch.Tensor:
        """Spike steps of levels: k = T - (level - code_offset) / code_scale (T = silent)."""
        return self.T - torch.div(levels - self.code_offset, self.code_scale, rounding_mode="floor")

    def with_shift(self, shift: float) -> "FiringPopulation":
        """A copy with another initial potential (e.g. 0: floor instead of round, deliberately wrong)."""
        from dataclasses import replace

        return replace(self, shift=float(shift))


def population_from_quantizer(quantizer, name: str) -> FiringPopulation:
    """The firing population equivalent to an ``otters.quant.LSQQuantizer`` (its levels, bit for bit).

    Standard: code_offset = qmin, thresholds theta_k = T - k + qmin, shift 1/2.
    Sign mode (1-bit signed): code_scale 2, code_offset -1, threshold 0 on V itself (x >= 0 -> +1).
    """
    bits, qmin, qmax = int(quantizer.bits), int(quantizer.qmin), int(quantizer.qmax)
    if not bool(getattr(quantizer, "initialized", torch.tensor(True))):
        raise OttersError(f"{name}: quantizer step alpha was never initialised; calibrate the QNN on data first")
    alpha = quantizer.alpha.detach().to(torch.float32).clone()
    if alpha.numel() != 1 or not bool(torch.isfinite(alpha).all()) or float(alpha) <= 0:
        raise OttersError(f"{name}: quantizer step alpha must be one positive finite number, got {alpha.tolist()}")
    alpha = alpha.reshape(())
    T = 2**bits - 1
    if bool(getattr(quantizer, "sign_mode", False)):
        return FiringPopulation(name, bits, alpha, -1, 1, 2, -1, 0.0, torch.zeros(1), sign_mode=True)
    if qmax - qmin != T:
        raise OttersError(f"{name}: level range [{qmin}, {qmax}] does not span T = {T} steps of a {bits}-bit code")
    thresholds = (T - torch.arange(T, dtype=torch.float32)) + qmin
    return FiringPopulation(name, bits, alpha, qmin, qmax, 1, qmin, 0.5, thresholds)
