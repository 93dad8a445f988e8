"""Stepped thresholds in the neuron's own input units: firing by comparisons only.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1, condition 4: a neuron fires at the
first step k whose threshold theta(t_k) = alpha (T - k) its potential reaches. The threshold lives
in the units of whatever the neuron compares, so the hardware never multiplies or divides.

Exactness. A population's code is c(x) = T - fire(x), where ``fire`` evaluates
floor(V/alpha + 1/2) on float32 V (``otters.snn.populations``), and V itself is a float32 function
of the neuron's input: V = x for a population fed by a digital block (its initial potential), or
V = potential_from_accumulator(acc, w_scale, alpha_in, bias) for one fed by a spiking stage. Every
float32 operation used (multiplication or division by a positive number, addition, floor, clamp)
is monotone non-decreasing, so c is a non-decreasing step function of the input, and for each code
level m = 1..T there is a least input A_m with c(x) >= m <=> x >= A_m. We find A_m by bisection:

- accumulator domain: over the integers (|acc| <= 2^24, where float32 is exact);
- value domain: over float32 numbers, bisecting their order-preserving integer keys.

Then c(x) = #{m : x >= A_m}: comparisons against T precomputed numbers, bit-identical to the float
path (checked pointwise at every threshold when built; tests/test_snn_bert_thresholds.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import torch

from otters.errors import OttersError
from otters.snn.populations import FiringPopulation

ACC_LIMIT = 2**24  # float32 holds every integer accumulator up to here exactly
_INF_KEY = 0x7F800000  # order key of +inf (float32 bits)


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
