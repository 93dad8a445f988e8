"""The TTFS neuron: a population that turns a membrane potential into at most one spike per window.

One idea, read whole (hence longer than the house's ~300 lines): how a TTFS neuron fires, in closed
form (:class:`FiringPopulation`, :class:`MaskedPopulation`) and by the comparisons the hardware
makes (:class:`StepThresholds`), and why the two give the same spike bit for bit.

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

:class:`MaskedPopulation` is Matterhorn's M-TTFS (arXiv 2601.22876): silence belongs to a calibrated
level m instead of qmin, and levels q != m spike once in a positive or a negative sub-population at
k = T - |q - m| (docs/matterhorn.md); with m = qmin it is the population above.

Stepped thresholds in the neuron's own input units (:func:`value_thresholds`,
:func:`accumulator_thresholds`): firing by comparisons only. The threshold lives in the units of
whatever the neuron compares, so the hardware never multiplies or divides. A population's code is
c(x) = T - fire(x), where ``fire`` evaluates floor(V/alpha + 1/2) on float32 V, and V itself is a
float32 function of the neuron's input: V = x for a population fed by a digital block (its initial
potential), or V = potential_from_accumulator(acc, w_scale, alpha_in, bias) for one fed by a
spiking stage. Every float32 operation used (multiplication or division by a positive number,
addition, floor, clamp) is monotone non-decreasing, so c is a non-decreasing step function of the
input, and for each code level m = 1..T there is a least input A_m with c(x) >= m <=> x >= A_m. We
find A_m by bisection:

- accumulator domain: over the integers (|acc| <= 2^24, where float32 is exact);
- value domain: over float32 numbers, bisecting their order-preserving integer keys.

Then c(x) = #{m : x >= A_m}: comparisons against T precomputed numbers, bit-identical to the float
path (checked pointwise at every threshold when built; tests/test_snn_bert_thresholds.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable

import torch

from otters.coding.mttfs import dead_zone_map, mttfs_thresholds
from otters.errors import OttersError

ACC_LIMIT = 2**24  # float32 holds every integer accumulator up to here exactly
_INF_KEY = 0x7F800000  # order key of +inf (float32 bits)


@dataclass(frozen=True)
class _Population:
    """What both kinds of population share: the leading fields (meanings in :class:`FiringPopulation`),
    the window length and the normalised potential. Subclasses add ``shift`` and ``sign_mode``."""

    name: str
    bits: int
    alpha: torch.Tensor
    qmin: int
    qmax: int
    code_scale: int

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


@dataclass(frozen=True)
class FiringPopulation(_Population):
    """A group of TTFS neurons sharing a step alpha and a stepped threshold.

    Attributes: ``name`` (the QNN quantizer it replaces), ``bits`` (n, T = 2^n - 1), ``alpha``
    (float32 0-dim), ``qmin``/``qmax`` (level range), ``code_scale``/``code_offset`` (level =
    code_scale * code + code_offset, code = T - k in [0, T], silent = code 0), ``shift`` (initial
    potential in units of alpha: 1/2 for rounding quantizers), ``thresholds`` (float32, theta_k for
    k = 0..T-1 in normalised units, non-increasing), ``sign_mode`` (compare V itself with 0).
    """

    code_offset: int
    shift: float
    thresholds: torch.Tensor
    sign_mode: bool = False

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
        if self.code_scale == 1:  # int64 floor division is the slowest op of the window; only sign mode needs it
            return (self.T + self.code_offset) - levels
        return self.T - torch.div(levels - self.code_offset, self.code_scale, rounding_mode="floor")

    def with_shift(self, shift: float) -> "FiringPopulation":
        """A copy with another initial potential (e.g. 0: floor instead of round, deliberately wrong)."""
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


@dataclass(frozen=True)
class MaskedPopulation(_Population):
    """M-TTFS neurons (Matterhorn, arXiv 2601.22876): silence belongs to the level ``silent`` (m).

    Two sub-populations share the neurons' potential: a neuron at level q > m fires once in the
    positive one, q < m once in the negative one, at step k = T - |q - m| / code_scale; q = m (and,
    with a dead zone of half-width ``dead_zone``, |q - m| <= dead_zone) stays silent.
    ``silent``: int64, 0-dim (per layer) or (channels,) (per channel, last dimension).
    The other attributes are those of :class:`FiringPopulation` (level range, alpha, shift, sign mode).

    Exactness (otters.coding.mttfs.mttfs_thresholds): with y = V/alpha + 1/2 (sign mode: y = V), the
    positive neuron fires at the first k with y >= m + c, the negative one at the first k with
    y < m - c + 1 (c = T - k, each only for c in its allowed range), so the spike encodes
    dead_zone_map(clamp(floor(y), qmin, qmax)) - m, the dead-zone QNN's level minus m, bit for bit.
    """

    shift: float
    silent: torch.Tensor
    dead_zone: int = 0
    sign_mode: bool = False

    @property
    def per_channel(self) -> bool:
        return self.silent.dim() == 1

    def levels(self, potential: torch.Tensor) -> torch.Tensor:
        """The levels the neurons' spikes encode (int64): dead-zone map of clamp(floor(y), qmin, qmax)."""
        y = self.normalised(potential)
        if self.sign_mode:
            q = torch.where(y >= 0, 1, -1).to(torch.int64)
        else:
            q = torch.clamp(torch.floor(y), self.qmin, self.qmax).to(torch.int64)
        return dead_zone_map(q, self.silent, self.dead_zone)

    def fire(self, potential: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(steps, polarity): closed form of the first threshold crossing; steps T and polarity 0 = silent."""
        return self.encode(self.levels(potential))

    def encode(self, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(steps, polarity) of levels: k = T - |q - m| / code_scale, polarity = sign(q - m)."""
        # In int32 (levels have at most 16 bits, so |q - m| < 2^17): torch's int64 sign, abs and floor
        # division run up to 20x slower than their int32 forms, the largest cost of a split window after
        # the matmul (bench/bench_snn_bert.py).
        d = (levels.to(torch.int64) - self.silent).to(torch.int32)
        magnitude = d.abs()
        if self.code_scale != 1:  # sign mode only
            magnitude = torch.div(magnitude, self.code_scale, rounding_mode="floor")
        return (self.T - magnitude).to(torch.int64), torch.sign(d).to(torch.int64)

    def decode(self, steps: torch.Tensor, polarity: torch.Tensor) -> torch.Tensor:
        """Levels of spikes: q = m + polarity * code_scale * (T - k) (silent: q = m)."""
        return self.silent + polarity.to(torch.int64) * (self.code_scale * (self.T - steps))

    def thresholds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(theta+, theta-) float32 of shape (T,) or (channels, T): the two stepped thresholds in
        normalised units (fire when y >= theta+_k, resp. y < theta-_k; +-inf where a step is not allowed)."""
        cached = self.__dict__.get("_thresholds")
        if cached is None:
            if self.sign_mode:  # one step (T = 1), threshold 0 on V: q = +1 iff V >= 0
                m = self.silent.to(torch.float64)
                pos = torch.where(m == -1, 0.0, float("inf")).unsqueeze(-1)
                neg = torch.where(m == 1, 0.0, float("-inf")).unsqueeze(-1)
            else:
                p, n = mttfs_thresholds(self.silent.numpy(), self.T, self.qmin, self.qmax, self.dead_zone)
                pos, neg = torch.from_numpy(p), torch.from_numpy(n)
            cached = (pos.to(torch.float32), neg.to(torch.float32))
            object.__setattr__(self, "_thresholds", cached)
        return cached


def masked_population(quantizer, name: str, silent=None, dead_zone: int | None = None) -> MaskedPopulation:
    """The M-TTFS population equivalent to ``quantizer`` (an LSQQuantizer, or a DeadZoneQuantizer).

    ``silent``: the silent level(s) m (int or per-channel); default: the quantizer's own (a dead-zone
    quantizer) or qmin (which makes the population plain TTFS). ``dead_zone``: default the quantizer's
    (0 for a plain LSQQuantizer). A dead zone > 0 must sit around the quantizer's own silent level:
    the SNN reproduces the dead-zone QNN, not another one.
    """
    base = population_from_quantizer(quantizer, name)
    own_k = int(getattr(quantizer, "dead_zone", 0))
    own_m = getattr(quantizer, "silent", None)
    k = own_k if dead_zone is None else int(dead_zone)
    if k != own_k:
        raise OttersError(f"{name}: the QNN's quantizer has dead zone {own_k}, the population asks for {k}; "
                          "apply the dead zone to the QNN (otters.quant.deadzone.apply_dead_zone) and convert that")
    if silent is None:
        silent = own_m if own_m is not None else base.qmin
    m = torch.as_tensor(silent).detach().to(torch.int64).cpu().clone()
    if k and (m.shape != own_m.shape or not torch.equal(m, own_m.cpu())):
        raise OttersError(f"{name}: with a dead zone the silent level must be the quantizer's own ({own_m.tolist()})")
    if m.dim() > 1:
        raise OttersError(f"{name}: silent levels are one per layer or one per channel, got shape {tuple(m.shape)}")
    lo, hi = (-1, 1) if base.sign_mode else (base.qmin, base.qmax)
    if not bool(((m >= lo) & (m <= hi)).all()) or (base.sign_mode and bool((m == 0).any())):
        raise OttersError(f"{name}: silent levels must be levels of the quantizer ({lo}..{hi}), got {m.tolist()}")
    return MaskedPopulation(name, base.bits, base.alpha, base.qmin, base.qmax, base.code_scale, base.shift, m, k,
                            base.sign_mode)


# -- stepped thresholds in the neuron's input units (comparisons only) ------------------------------


def _float_key(x: torch.Tensor) -> torch.Tensor:
    """Order-preserving int64 key of float32 values (+0 and -0 share key 0)."""
    bits = x.to(torch.float32).contiguous().view(torch.int32).to(torch.int64)
    return torch.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def _key_float(key: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_float_key` (key 0 -> +0.0)."""
    bits = torch.where(key < 0, (-key) - 2**31, key)
    return bits.to(torch.int32).view(torch.float32)


@contextlib.contextmanager
def _single_thread():
    """Bisection is thousands of tiny elementwise ops: extra threads only add overhead. (Only here: a
    float reduction elsewhere, e.g. a binary weight's scale mean|W|, may round differently with
    another thread count, so the model's own numbers are never computed inside this block.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _least_reaching(code_of: Callable[[torch.Tensor], torch.Tensor], shape: tuple, T: int, lo: int, hi: int,
                    to_input: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Least key in [lo, hi] whose code reaches m, for m = 1..T (last dim), by vectorised bisection.

    ``code_of(inputs)`` maps inputs of shape (T, *shape) to codes; ``to_input`` maps keys to inputs.
    A level no key reaches gets hi + 1.
    """
    target = torch.arange(1, T + 1, dtype=torch.int64).reshape((T,) + (1,) * len(shape))
    low = torch.full((T,) + shape, lo, dtype=torch.int64)
    high = torch.full((T,) + shape, hi + 1, dtype=torch.int64)
    while bool((low < high).any()):
        mid = torch.div(low + high, 2, rounding_mode="floor")
        reached = code_of(to_input(torch.minimum(mid, torch.tensor(hi)))) >= target
        reached &= mid <= hi
        high = torch.where(reached, mid, high)
        low = torch.where(reached, low, mid + 1)
    return high.movedim(0, -1)


@dataclass(frozen=True)
class StepThresholds:
    """The T thresholds of one population in its input units, ascending in the last dim.

    ``values``: (T,) shared by all neurons, or (channels, T) per output channel (a bias per neuron);
    ``domain``: "accumulator" (integer accumulator of the feeding stage) or "value" (float input).
    code(x) = #{m : x >= values[..., m-1]}; the spike step is k = T - code (k = T: silent).
    """

    values: torch.Tensor
    domain: str
    T: int

    @property
    def per_channel(self) -> bool:
        return self.values.dim() == 2

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Code of every neuron (int64): comparisons of x (..., channels) with the stepped thresholds."""
        thr = self.values if self.values.dtype == x.dtype else self._cast(x.dtype)
        if not self.per_channel:
            return torch.searchsorted(thr, x.contiguous(), right=True)
        channels = thr.shape[0]
        flat = x.reshape(-1, channels).transpose(0, 1).contiguous()
        return torch.searchsorted(thr, flat, right=True).transpose(0, 1).reshape(x.shape)

    def _cast(self, dtype: torch.dtype) -> torch.Tensor:
        cache = self.__dict__.setdefault("_casts", {})
        if dtype not in cache:
            cache[dtype] = self.values.to(dtype).contiguous()
        return cache[dtype]

    def steps(self, x: torch.Tensor) -> torch.Tensor:
        """Spike step of every neuron: k = T - code (T = silent)."""
        return self.T - self.codes(x)


def _code_fn(pop: FiringPopulation, potential: Callable[[torch.Tensor], torch.Tensor] | None):
    def code_of(inputs: torch.Tensor) -> torch.Tensor:
        v = inputs if potential is None else potential(inputs)
        return pop.T - pop.fire(v)

    return code_of


def value_thresholds(pop: FiringPopulation) -> StepThresholds:
    """Thresholds of a population whose initial potential is a float32 value x (fed by a digital block).

    A_m = least float32 x with T - pop.fire(x) >= m (Prop. 1 threshold alpha*(m - 1/2) in value units,
    located exactly in float32 rather than computed, so the comparison reproduces the division).
    """
    code_of = _code_fn(pop, None)
    with _single_thread():
        keys = _least_reaching(code_of, (), pop.T, -_INF_KEY, _INF_KEY, _key_float)
        _check(code_of, keys, -_INF_KEY, _INF_KEY, _key_float)
    return StepThresholds(_key_float(keys.clamp(max=_INF_KEY)).contiguous(), "value", pop.T)


def accumulator_thresholds(pop: FiringPopulation, potential: Callable[[torch.Tensor], torch.Tensor],
                           channels: int | None = None) -> StepThresholds:
    """Thresholds on the integer accumulator of the feeding stage: A_m = least integer a in
    [-2^24, 2^24] with T - pop.fire(potential(a)) >= m (2^24 + 1: never reached).

    ``potential(acc)`` must be the stage's own float32 map (``potential_from_accumulator`` with its
    weight scale, input step and bias), broadcasting over a last dim of ``channels`` (None: shared).
    Values are float64 so that a non-integer accumulator (device variation) compares correctly.
    """
    shape = () if channels is None else (int(channels),)
    code_of = _code_fn(pop, potential)
    with _single_thread():
        keys = _least_reaching(code_of, shape, pop.T, -ACC_LIMIT, ACC_LIMIT, lambda k: k.to(torch.float32))
        _check(code_of, keys, -ACC_LIMIT, ACC_LIMIT, lambda k: k.to(torch.float32))
    return StepThresholds(keys.to(torch.float64).contiguous(), "accumulator", pop.T)


def _check(code_of, keys: torch.Tensor, lo: int, hi: int, to_input) -> None:
    """Checks of the thresholds (keys of shape (..., T)): level m is reached at A_m and not just below
    it, levels are nested (A_m non-decreasing in m), and the ends of the domain agree (reached at the
    top when A_m exists, not at the bottom when A_m > bottom). They catch a decreasing input map
    (a negative weight scale or step); monotonicity itself holds by construction (module docstring)."""
    T = keys.shape[-1]
    levels = torch.arange(1, T + 1, dtype=torch.int64)

    def codes(k: torch.Tensor) -> torch.Tensor:
        return code_of(to_input(k).movedim(-1, 0)).movedim(0, -1)

    exists, above_bottom = keys <= hi, keys > lo
    at = codes(keys.clamp(max=hi))
    below = codes((keys - 1).clamp(min=lo))
    top = codes(torch.full_like(keys, hi))
    bottom = codes(torch.full_like(keys, lo))
    ok = ((at >= levels) | ~exists) & ((below < levels) | ~above_bottom)
    ok &= ((top >= levels) | ~exists) & ((bottom < levels) | ~above_bottom)
    ok &= torch.cat([torch.ones_like(keys[..., :1], dtype=torch.bool), keys[..., 1:] >= keys[..., :-1]], dim=-1)
    if not bool(ok.all()):
        raise OttersError("a firing population's code is not monotone in its input, so it cannot fire by stepped "
                          "thresholds; the quantizer step and the stage's weight scale must both be positive")
