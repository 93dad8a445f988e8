"""Firing statistics of quantized activation populations, the energy model's activity parameters.

Until spike traces of trained models are wired in, the default statistics come from one stated
model, not from fitting any energy figure: the pre-quantizer value is Gaussian (signed tensors) or
a ReLU of a Gaussian (unsigned tensors), and the step size is LSQ's initialisation
alpha = 2 E|x| / sqrt(Q_p) (Esser et al., ICLR 2020; Sorbet initialises alpha the same way).
Levels are q = clamp(floor(x/alpha + 1/2), q_min, q_max). Trained models drift from this; measured
level histograms replace it (:meth:`Population.from_histogram`).

What each coding charges per neuron (docs/energy.md):
- rate coding (IF neurons, T steps, signed spikes for signed tensors): E|q| spikes;
- TTFS with the offset code c = q - q_min (signed) or c = q (unsigned): one spike when c > 0, at
  step k = T - c; the fire window compares at steps 0..k (T compares when silent);
- M-TTFS (Matterhorn): the silent state is the most frequent level; a dead zone of half-width dz
  around it is silent too. Sign-split TTFS is M-TTFS with the silent state fixed at level 0
  (``Population.silent``), whatever the most frequent level is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from otters.errors import OttersError


@dataclass(frozen=True)
class Population:
    """Distribution of integer levels q_min..q_max of one activation tensor (``probs`` sums to 1).

    ``silent``: the level M-TTFS silences (None: the most frequent level, Matterhorn's choice; 0 for
    sign-split TTFS)."""

    qmin: int
    qmax: int
    probs: tuple[float, ...]
    silent: int | None = None

    @property
    def silent_level(self) -> int:
        """The level a masked (M-TTFS / split) population leaves silent."""
        if self.silent is not None:
            return int(self.silent)
        return int(self.levels[int(np.argmax(self.probs))])

    def __post_init__(self) -> None:
        p = np.asarray(self.probs, dtype=float)
        if self.qmax <= self.qmin or p.shape != (self.qmax - self.qmin + 1,):
            raise OttersError(f"population needs {self.qmax - self.qmin + 1} probabilities for levels {self.qmin}..{self.qmax}")
        if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
            raise OttersError("population probabilities must be finite, >= 0 and sum to 1")

    @property
    def levels(self) -> np.ndarray:
        return np.arange(self.qmin, self.qmax + 1)

    def prob(self, q: int) -> float:
        return float(self.probs[q - self.qmin]) if self.qmin <= q <= self.qmax else 0.0

    @property
    def mean_abs_level(self) -> float:
        """E|q|: spikes per neuron of a rate code (Sorbet, SpikeLM)."""
        return float(np.dot(np.abs(self.levels), self.probs))

    @property
    def nonzero(self) -> float:
        """P(q != 0): the fraction of non-zero activations (a QNN skips the zeros)."""
        return 1.0 - self.prob(0)

    @property
    def ttfs_fire(self) -> float:
        """P(c > 0) with the offset code c = q - q_min: spikes per neuron under TTFS."""
        return 1.0 - float(self.probs[0])

    def ttfs_compares(self, T: int) -> float:
        """E[compares in the fire window]: k + 1 for a spike at k = T - c, T when silent (c = 0)."""
        c = self.levels - self.qmin
        checks = np.where(c > 0, T - c + 1, T).astype(float)
        return float(np.dot(checks, self.probs))

    def ttfs_active_steps(self, fan_in: int, T: int) -> float:
        """E[number of steps k = 0..T-1 at which at least one of ``fan_in`` independent inputs spikes].

        A spike at step k carries code c = T - k; with p_k = P(c = T - k), the expectation is
        sum_k 1 - (1 - p_k)^fan_in (the column reads of Otters' analog accumulation mode).
        """
        codes = self.levels - self.qmin
        p_by_code = {int(c): float(p) for c, p in zip(codes, self.probs)}
        return float(sum(1.0 - (1.0 - p_by_code.get(T - k, 0.0)) ** int(fan_in) for k in range(T)))

    def mttfs_active_steps(self, fan_in: int, T: int, dead_zone: int = 0) -> float:
        """E[(step, polarity) pairs with at least one of ``fan_in`` independent inputs spiking] under
        M-TTFS: a level q with |q - mode| = c > dead_zone spikes at k = T - c in the positive (q > mode)
        or negative sub-population; each polarity is read separately (an optical pulse cannot be
        negative): sum over k and polarity of 1 - (1 - p_(k, polarity))^fan_in."""
        d = self.levels - self.silent_level
        total = 0.0
        for sign in (1, -1):
            for c in range(max(int(dead_zone), 0) + 1, T + 1):
                p = float(np.asarray(self.probs)[d == sign * c].sum())
                total += 1.0 - (1.0 - p) ** int(fan_in)
        return total

    def mttfs_fire(self, dead_zone: int = 0) -> float:
        """Spikes per neuron under M-TTFS: silent when |q - mode| <= dead_zone (Matterhorn)."""
        silent = np.abs(self.levels - self.silent_level) <= int(dead_zone)
        return float(1.0 - np.asarray(self.probs)[silent].sum())

    @classmethod
    def gaussian_lsq(cls, qmin: int, qmax: int, relu: bool = False) -> "Population":
        """Levels of x ~ N(0, 1) (or ReLU(N(0, 1))) under LSQ's initial step alpha = 2 E|x| / sqrt(q_max)."""
        if qmax < 1 or qmin > 0:
            raise OttersError(f"levels {qmin}..{qmax} must include 0 and a positive level")
        if relu and qmin != 0:
            raise OttersError("a ReLU population has levels starting at 0")
        mean_abs = 1.0 / math.sqrt(2 * math.pi) if relu else math.sqrt(2 / math.pi)
        alpha = 2.0 * mean_abs / math.sqrt(qmax)
        # level q covers x in [(q - 1/2) alpha, (q + 1/2) alpha); the end levels absorb the tails
        # (clamping), so for ReLU level 0 takes every z < alpha/2, the negative half included.
        cdf = norm.cdf((np.arange(qmin, qmax + 2) - 0.5) * alpha)
        cdf[0], cdf[-1] = 0.0, 1.0
        probs = np.diff(cdf)
        return cls(qmin, qmax, tuple(float(p) for p in probs))

    @classmethod
    def from_histogram(cls, qmin: int, counts) -> "Population":
        """A measured population: ``counts[i]`` neurons at level ``qmin + i``."""
        counts = np.asarray(counts, dtype=float)
        if counts.ndim != 1 or counts.size < 2 or np.any(counts < 0) or counts.sum() <= 0:
            raise OttersError("a level histogram needs >= 2 non-negative counts with a positive total")
        return cls(int(qmin), int(qmin) + counts.size - 1, tuple(float(v) for v in counts / counts.sum()))

    def to_dict(self) -> dict:
        return {"qmin": self.qmin, "qmax": self.qmax, "probs": list(self.probs)}

    @classmethod
    def from_dict(cls, d: dict) -> "Population":
        """{qmin, qmax, probs} or {qmin, histogram}; anything else is an OttersError."""
        try:
            if "histogram" in d:
                pop = cls.from_histogram(int(d["qmin"]), d["histogram"])
                return pop if d.get("silent") is None else cls(pop.qmin, pop.qmax, pop.probs, int(d["silent"]))
            return cls(int(d["qmin"]), int(d["qmax"]), tuple(float(p) for p in d["probs"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, OttersError):
                raise
            raise OttersError(f"a population needs qmin and probs (with qmax) or a histogram list ({exc!r})") from None


@dataclass(frozen=True)
class FiringStats:
    """The populations the architecture builders draw on.

    signed4 / unsigned4: 4-bit activations [-8, 7] (QKV/O/FFN1 inputs, Q, K, V) and [0, 15]
    (attention probabilities, post-ReLU FFN). bispike_signed / bispike_unsigned: SpikeLM's net
    bi-spike counts over T steps, levels [-T, T] and [0, T].
    """

    signed4: Population
    unsigned4: Population
    bispike_signed: Population
    bispike_unsigned: Population

    @classmethod
    def default(cls, spikelm_steps: int = 4) -> "FiringStats":
        """The Gaussian + LSQ-initialisation statistics (module docstring)."""
        T = int(spikelm_steps)
        return cls(
            Population.gaussian_lsq(-8, 7),
            Population.gaussian_lsq(0, 15, relu=True),
            Population.gaussian_lsq(-T, T),
            Population.gaussian_lsq(0, T, relu=True),
        )

    def updated(self, overrides: dict) -> "FiringStats":
        """Replace populations from a dict name -> {qmin, qmax, probs} or {qmin, histogram}."""
        names = ("signed4", "unsigned4", "bispike_signed", "bispike_unsigned")
        unknown = set(overrides) - set(names)
        if unknown:
            raise OttersError(f"unknown populations {sorted(unknown)}; known: {', '.join(names)}")
        values = {n: getattr(self, n) for n in names}
        for name, d in overrides.items():
            if not isinstance(d, dict):
                raise OttersError(f"population {name!r} must be an object with qmin and probs or histogram")
            values[name] = Population.from_dict(d)
        return FiringStats(**values)

    def summary(self, T_ttfs: int = 15) -> dict:
        """Spikes per neuron under each code (for the docs and the CLI)."""
        return {
            "signed4": {"rate_spikes": self.signed4.mean_abs_level, "ttfs_fire": self.signed4.ttfs_fire,
                        "nonzero": self.signed4.nonzero, "ttfs_compares": self.signed4.ttfs_compares(T_ttfs)},
            "unsigned4": {"rate_spikes": self.unsigned4.mean_abs_level, "ttfs_fire": self.unsigned4.ttfs_fire,
                          "nonzero": self.unsigned4.nonzero, "ttfs_compares": self.unsigned4.ttfs_compares(T_ttfs)},
            "bispike_signed": {"rate_spikes": self.bispike_signed.mean_abs_level},
            "bispike_unsigned": {"rate_spikes": self.bispike_unsigned.mean_abs_level},
        }
