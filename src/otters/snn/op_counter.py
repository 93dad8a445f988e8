"""A measured operation counter: a torch dispatch mode that counts the aten operations an executor performs.

Every tensor operation that runs while the counter is active reaches ``__torch_dispatch__`` as an
aten operator; inside a named block (a population or a stage of the spiking network) the counter
classifies it by what it computes and how many elements it touches:

- additions: ``add``/``index_add``/``scatter_add`` (one per element written, a negative ``alpha``
  counts as subtractions), reductions ``sum`` (inputs - outputs), and the accumulations of a matrix
  product (m*n*(k-1));
- subtractions: ``sub``/``rsub``; multiplications: ``mul``/``div`` and the products of ``mm``/``bmm``/
  ``addmm``/``baddbmm``/``mv``/``dot`` (m*n*k; matmul dispatches to these);
- comparisons: ``ge``/``gt``/``le``/``lt``/``eq``/``ne``/``maximum``/``minimum``/``clamp``;
- shifts: ``bitwise_left_shift``/``bitwise_right_shift``.

Any other operator inside a block (indexing, copies, views) moves data but computes nothing; the
counter lists the names of those it saw (``others``), so that nothing is hidden. Work that a chip
does outside its digital logic is not an aten count: the executor reports device reads and ADC
conversions itself (:meth:`OpCounter.device`), and wraps its simulation bookkeeping (routing each
spike to the tick and the synapses it reaches, which the clock and the wiring do on a chip) in
:meth:`OpCounter.uncounted`.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

OP_KINDS = ("adds", "subs", "mults", "shifts", "compares")

_ELEMENTWISE = {
    "add": "adds", "add_": "adds", "sub": "subs", "sub_": "subs", "rsub": "subs",
    "mul": "mults", "mul_": "mults", "div": "mults", "div_": "mults",
    "ge": "compares", "gt": "compares", "le": "compares", "lt": "compares", "eq": "compares", "ne": "compares",
    "maximum": "compares", "minimum": "compares", "clamp": "compares", "clamp_": "compares",
    "bitwise_left_shift": "shifts", "bitwise_right_shift": "shifts",
    "bitwise_left_shift_": "shifts", "bitwise_right_shift_": "shifts",
}
_INDEXED_ADDS = {"index_add", "index_add_", "scatter_add", "scatter_add_"}
_PRODUCTS = {"mm", "bmm", "addmm", "baddbmm", "mv", "dot"}


@dataclass
class BlockCounts:
    """What one block executed: aten operations by kind, device reads and ADC conversions (bits -> count)."""

    ops: dict = field(default_factory=lambda: {k: 0 for k in OP_KINDS})
    device_reads: int = 0
    adc: dict = field(default_factory=dict)
    others: set = field(default_factory=set)


def _numel(x) -> int:
    return int(x.numel()) if isinstance(x, torch.Tensor) else 1


def _product_shape(name: str, args) -> tuple[int, int, int]:
    """(batch*m, n, k) of a matrix product: m*n outputs, each a sum of k products."""
    if name == "dot":
        return 1, 1, int(args[0].numel())
    if name == "mv":
        return int(args[0].shape[0]), 1, int(args[0].shape[1])
    a, b = (args[1], args[2]) if name in ("addmm", "baddbmm") else (args[0], args[1])
    batch = math.prod(a.shape[:-2]) if a.dim() > 2 else 1
    return batch * int(a.shape[-2]), int(b.shape[-1]), int(a.shape[-1])


class OpCounter(TorchDispatchMode):
    """Counts, per named block, the aten operations run inside ``with counter.block(name):``."""

    def __init__(self):
        super().__init__()
        self.blocks: dict[str, BlockCounts] = defaultdict(BlockCounts)
        self._block: str | None = None
        self._paused = 0

    @contextlib.contextmanager
    def block(self, name: str):
        """Attribute the operations run inside to block ``name``."""
        previous, self._block = self._block, name
        try:
            yield self.blocks[name]
        finally:
            self._block = previous

    @contextlib.contextmanager
    def uncounted(self):
        """Simulation bookkeeping (event routing): runs outside the dispatch mode, so without being counted
        (and at full speed: some kernels, e.g. bmm, run far slower under a Python dispatch mode)."""
        self._paused += 1
        try:
            with _disable_current_modes():
                yield
        finally:
            self._paused -= 1

    def device(self, reads: int, adc_bits: int | None = None, conversions: int = 0) -> None:
        """Record device reads and ADC conversions of the current block (analog work, not aten ops)."""
        if self._block is None:
            return
        counts = self.blocks[self._block]
        counts.device_reads += int(reads)
        if conversions:
            counts.adc[int(adc_bits)] = counts.adc.get(int(adc_bits), 0) + int(conversions)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self._block is not None and not self._paused:
            self._count(func, args, kwargs, out)
        return out

    def _count(self, func, args, kwargs, out) -> None:
        name = func.overloadpacket.__name__
        counts = self.blocks[self._block]
        if name in _ELEMENTWISE:
            kind = _ELEMENTWISE[name]
            if kind == "adds" and float(kwargs.get("alpha", 1)) < 0:
                kind = "subs"
            counts.ops[kind] += _numel(out)
        elif name in _INDEXED_ADDS:
            source = args[3] if len(args) > 3 else kwargs.get("source", kwargs.get("src"))
            alpha = kwargs.get("alpha", 1)
            counts.ops["subs" if float(alpha) < 0 else "adds"] += _numel(source)
        elif name == "sum":
            counts.ops["adds"] += max(_numel(args[0]) - _numel(out), 0)
        elif name in _PRODUCTS:
            rows, cols, inner = _product_shape(name, args)
            counts.ops["mults"] += rows * cols * inner
            counts.ops["adds"] += rows * cols * (max(inner - 1, 0) + (1 if name in ("addmm", "baddbmm") else 0))
        else:
            counts.others.add(name)
