"""The spiking BERT as a chip executes it: neurons stepped tick by tick, select-and-add of device reads.

Source: Otters (ICLR 2026, arXiv 2509.18968), Prop. 1 and Sec. 3 (windows, stepped thresholds, the
device read at the spike instant); Sorbet (ICML 2025) for the digital blocks. The fast simulator
(:class:`otters.snn.bert.SpikingBert`) computes every window in closed form; this executor runs the
same converted network the way the hardware does, one sentence at a time (no padding anywhere):

- **firing**: at step k = 0..T-1 (the tick holding t_k) each neuron that has not fired compares its
  integrated input with the stepped threshold of step k; a crossing is a spike, and the reset makes
  the neuron refractory for the rest of the inference. Spikes are counted from these crossings, so
  "at most one spike per neuron" is measured (``broken_reset=True`` keeps neurons armed: a test
  sees two). Thresholds are the fast path's own (``otters.snn.thresholds``) with the signed offset
  correction and the ADC units folded in once, at conversion;
- **static-weight stages**, ``adc_per`` = "column" (as the audit's default): per step, the lit rows of
  each column tile sum their +-1 currents on the output line, one conversion per (output, tile) with
  a lit row; the digital side adds each conversion to a running count C and adds C into the
  accumulator at every step (sum_k C_k = sum_i code_i w_ij, no multiplication); "spike": one device
  read per spike, added or subtracted per synapse by the weight's sign;
- **Q.K^T and P.V**: one device read per Q or P spike, added or subtracted per stored key / value by
  its sign (4-bit K/V: multiplied by the stored level, then added); the signed offset of Q is
  corrected once per score from the stored keys' row sums (a shift) and scores return to levels by a
  shift (/R).

With an :class:`otters.snn.op_counter.OpCounter` active the arithmetic of every population and stage
is counted as executed (the measured audit); with a :class:`otters.coding.chip_read.ChipRead` the
reads are taken on the clock ticks through a real ADC (the hardware-level simulator). Embeddings,
norms, (PT)softmax and the read-out maps are the student's digital modules, run between windows.

One idea, kept whole (a little over 300 lines): the executor's windows read in the order the chip
runs them, and splitting the stages from the neurons they drive would hide that order.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from otters.coding.chip_read import ChipRead
from otters.errors import OttersError
from otters.quant import potential_from_accumulator
from otters.snn.bert.model import _norm
from otters.snn.op_counter import OpCounter

ADC_PLACEMENTS = ("column", "spike")


@dataclass
class ExecutorOutput:
    """logits (float32, (B, labels)); ``steps``: name -> list of spike-step tensors, one per sentence;
    ``max_spikes``: name -> most spikes any neuron of the population emitted."""

    logits: torch.Tensor
    steps: dict = field(default_factory=dict)
    max_spikes: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)
    accumulators: dict = field(default_factory=dict)


def _int_log2(value: int, what: str) -> int:
    if value <= 0 or value & (value - 1):
        raise OttersError(f"{what} = {value} is not a power of two: the hardware would need a multiplier")
    return value.bit_length() - 1


class HardwareExecutor:
    """Runs a converted :class:`SpikingBert` (plain TTFS) as the hardware does; see the module docstring.

    ``read``: a :class:`ChipRead` (None: the nominal device read exactly at t_k, the exact path's
    codes); ``counter``: an :class:`OpCounter` to count the executed arithmetic per block;
    ``column_rows``: synapses per column tile; ``seed``: jitter and noise draws.
    """

    def __init__(self, snn, read: ChipRead | None = None, counter: OpCounter | None = None, adc_per: str = "column",
                 column_rows: int = 256, broken_reset: bool = False, seed: int = 0):
        if getattr(snn, "coding", "ttfs") != "ttfs":
            raise OttersError(f"the hardware executor runs plain-TTFS populations; this network uses {snn.coding!r}")
        if adc_per not in ADC_PLACEMENTS:
            raise OttersError(f"adc_per must be one of {', '.join(ADC_PLACEMENTS)}, got {adc_per!r}")
        self.snn, self.read, self.counter = snn, read, counter
        self.adc_per, self.column_rows, self.broken_reset = adc_per, int(column_rows), bool(broken_reset)
        self.adc_bits = read.adc_bits if read is not None else snn.adc_bits
        self.rng = np.random.default_rng(seed)
        self._thresholds: dict = {}
        self.steps: dict = {}
        self.max_spikes: dict = {}
        self.spikes: dict = {}
        self.accumulators: dict = {}  # stage -> one accumulator (executor units) per sentence

    # -- helpers ----------------------------------------------------------------------------------
    def _block(self, name: str):
        return self.counter.block(name) if self.counter is not None else contextlib.nullcontext()

    def _quiet(self):
        return self.counter.uncounted() if self.counter is not None else contextlib.nullcontext()

    def _device(self, reads: int, bits: int | None = None, conversions: int = 0) -> None:
        if self.counter is not None:
            self.counter.device(reads, bits, conversions)

    def resolution(self, T: int) -> int:
        return self.read.resolution(T) if self.read is not None else self.snn.tables().resolution(T)

    def readings(self, T: int, steps: torch.Tensor) -> torch.Tensor:
        """The reading of each spike (float64, 0 for silent): on the clock, or the exact path's table."""
        if self.read is None:
            return self.snn.tables().lut(T).to(torch.float64)[steps]
        return torch.from_numpy(self.read.read(T, steps.numpy(), self.rng))

    # -- firing -----------------------------------------------------------------------------------
    def fire(self, firing, x: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
        """Spike steps (T = silent) of ``firing`` on input x (..., channels): ``thresholds`` (T,) or
        (channels, T), ascending (code m needs x >= thresholds[..., m - 1]); step k compares with code T - k."""
        T = firing.T
        steps = torch.full(x.shape, T, dtype=torch.int64)
        spikes = torch.zeros(x.shape, dtype=torch.int64)
        with self._block(firing.name):
            with self._quiet():
                armed = torch.ones(x.shape, dtype=torch.bool)
                # an integer accumulator compares with the float64 thresholds exactly (|x| < 2^53)
                per_step = (thresholds.to(x.dtype) if x.dtype.is_floating_point else thresholds).expand(x.shape + (T,))
            for k in range(T):
                with self._quiet():
                    where = armed.nonzero(as_tuple=True)
                    inputs, level = x[where], per_step[where + (torch.full_like(where[0], T - 1 - k),)]
                crossed = inputs >= level  # the neuron's comparator: one per armed neuron and step
                with self._quiet():
                    hit = tuple(i[crossed] for i in where)
                    spikes[hit] += 1
                    first = steps[hit] == T
                    steps[tuple(i[first] for i in hit)] = k
                    if not self.broken_reset:
                        armed[hit] = False  # reset: refractory until the next inference
        self.steps.setdefault(firing.name, []).append(steps)
        self.spikes[firing.name] = self.spikes.get(firing.name, 0) + int(spikes.sum())
        most = int(spikes.max()) if spikes.numel() else 0
        self.max_spikes[firing.name] = max(self.max_spikes.get(firing.name, 0), most)
        return steps

    def stage_thresholds(self, stage) -> torch.Tensor:
        """The output population's thresholds on this stage's accumulator in executor units (float64,
        (out, T)): A * U - offset * U * sum_i w_ij, U = 1 (column counts) or R (device readings)."""
        key = (stage.name, self.adc_per)
        if key not in self._thresholds:
            pop, values = stage.pop_in, stage.out.thresholds.values.to(torch.float64)
            U = 1 if self.adc_per == "column" else self.resolution(pop.T)
            offset = (pop.code_offset * U) * stage.row_sum.to(torch.float64)
            self._thresholds[key] = values.expand(stage.fan_out, values.shape[-1]) * U - offset[:, None]
        return self._thresholds[key]

    # -- static-weight stages -----------------------------------------------------------------------
    def linear(self, stage, steps: torch.Tensor) -> torch.Tensor:
        """Accumulator (tokens, out) of a static-weight stage in executor units, from input steps (tokens, in)."""
        pop = stage.pop_in
        if pop.code_scale != 1:
            raise OttersError(f"{stage.name}: input codes scaled by {pop.code_scale} are not executed")
        with self._block(stage.name):
            if self.adc_per == "column":
                acc = self._column(stage, steps)
            else:  # one device read per spike, added / subtracted per synapse by the weight's sign
                acc = self.product(stage.name, steps[None], pop, stage.weight[None], True)[0]
        self.accumulators.setdefault(stage.name, []).append(acc)
        return acc

    def _column(self, stage, steps: torch.Tensor) -> torch.Tensor:
        T, rows = stage.pop_in.T, self.column_rows
        tokens, width = steps.shape
        tiles = math.ceil(width / rows)
        bits = math.ceil(math.log2(2 * rows + 1))
        count = torch.zeros((tokens, stage.fan_out), dtype=torch.int64)
        acc = torch.zeros((tokens, stage.fan_out), dtype=torch.int64)
        with self._quiet():
            weight = torch.zeros((stage.fan_out, tiles * rows))
            weight[:, :width] = stage.weight
            weight = weight.reshape(stage.fan_out, tiles, rows).permute(1, 2, 0).contiguous()  # (tiles, rows, out)
        for k in range(T):
            with self._quiet():  # analog: the lit rows' +-1 currents sum on each tile's output line
                lit = torch.zeros((tokens, tiles * rows))
                lit[:, :width] = (steps == k).to(torch.float32)
                lit = lit.reshape(tokens, tiles, rows).transpose(0, 1)  # (tiles, tokens, rows)
                tile_of, token_of = lit.any(dim=-1).nonzero(as_tuple=True)
                currents = torch.bmm(lit, weight)[tile_of, token_of].to(torch.int64)  # converted signed counts
                self._device(int(lit.sum()) * stage.fan_out, bits, int(token_of.numel()) * stage.fan_out)
            count.index_add_(0, token_of, currents)  # running signed count: one add per conversion
            acc += count  # acc += C at every step
        return acc

    def readout(self, stage, acc: torch.Tensor) -> torch.Tensor:
        """The stage's accumulator in levels (what potential_from_accumulator reads): offset correction
        (one add per output) and, for device readings, the division by R (a shift)."""
        pop = stage.pop_in
        U = 1 if self.adc_per == "column" else self.resolution(pop.T)
        with self._block(stage.name):
            with self._quiet():
                correction = (pop.code_offset * U) * stage.row_sum.to(acc.dtype)
            if pop.code_offset:
                acc = acc + correction
            if U != 1:
                acc = self._shift_down(acc, U)
        return acc.to(torch.float32)

    @staticmethod
    def _shift_down(acc: torch.Tensor, factor: int) -> torch.Tensor:
        bits = _int_log2(factor, "the ADC resolution R")
        if acc.dtype.is_floating_point:  # device deviations make the accumulator non-integer
            return torch.ldexp(acc, torch.tensor(-bits))
        return torch.bitwise_right_shift(acc, bits)

    # -- attention products ---------------------------------------------------------------------------
    def product(self, name: str, steps: torch.Tensor, pop, stored: torch.Tensor, one_bit: bool) -> torch.Tensor:
        """sum_i reading_i * stored[..., j, i] for steps (H, rows, in) and stored levels (H, out, in): per
        spike one device read, then per stored synapse an add / subtract by sign (4-bit: multiply, add)."""
        T, bits = pop.T, self.adc_bits
        heads, rows, width = steps.shape
        out = stored.shape[1]
        if self.counter is None:  # simulation: the same sums as an exact float64 product
            acc = self.readings(T, steps) @ stored.to(torch.float64).transpose(-1, -2)
            if name.endswith((".qk", ".pv")):
                self.accumulators.setdefault(name, []).append(acc)
            return acc
        acc = torch.zeros(heads * rows * out, dtype=torch.int64)
        for k in range(T):
            with self._quiet():
                h, r, i = (steps == k).nonzero(as_tuple=True)
                reading = self.readings(T, torch.full_like(h, k)).to(torch.int64)
                self._device(int(h.numel()), bits, int(h.numel()))
                levels = stored[h, :, i]  # (spikes, out): the synapses each spike drives
                target = ((h * rows + r) * out)[:, None] + torch.arange(out)
                values = reading[:, None].expand(-1, out)
                plus, minus = levels > 0, levels < 0
            if one_bit:
                acc.index_add_(0, target[plus], values[plus])
                acc.index_add_(0, target[minus], values[minus], alpha=-1)
            else:
                acc.index_add_(0, target.reshape(-1), (values * levels).reshape(-1))
        acc = acc.reshape(heads, rows, out)
        if name.endswith((".qk", ".pv")):
            self.accumulators.setdefault(name, []).append(acc)
        return acc

    def scores(self, name: str, acc: torch.Tensor, pop, keys: torch.Tensor) -> torch.Tensor:
        """Q.K^T accumulator -> levels: the signed offset of Q corrected with the keys' row sums, then / R."""
        R = self.resolution(pop.T)
        if pop.code_offset:
            shift = _int_log2(abs(pop.code_offset) * R, "the offset correction |qmin| * R")
            row_sums = keys.sum(dim=-1)  # one row sum per stored key
            correction = torch.ldexp(row_sums.to(acc.dtype), torch.tensor(shift)) if acc.dtype.is_floating_point \
                else torch.bitwise_left_shift(row_sums, shift)
            acc = acc - correction[:, None, :] if pop.code_offset < 0 else acc + correction[:, None, :]
        return self._shift_down(acc, R) if R != 1 else acc

    # -- the windows of one inference -----------------------------------------------------------------
    def _value_thresholds(self, firing) -> torch.Tensor:
        return firing.thresholds.values

    def _pv_thresholds(self, ly) -> torch.Tensor:
        pop = ly.p.pop
        if pop.code_offset:
            raise OttersError(f"{ly.p.name}: a signed P population would need a per-value offset correction")
        return ly.pv_out.thresholds.values.to(torch.float64) * self.resolution(pop.T)

    def layer(self, ly, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One encoder layer on one sentence h (1, L, hidden): its six windows (Otters Sec. 3)."""
        length, hidden = h.shape[1], h.shape[2]
        heads, d = ly.heads, hidden // ly.heads
        s_in = self.fire(ly.input, h[0], self._value_thresholds(ly.input))
        accs = [self.linear(s, s_in) for s in (ly.query, ly.key, ly.value)]
        stages = (ly.query, ly.key, ly.value)
        q, k, v = (self.fire(s.out, acc, self.stage_thresholds(s)) for s, acc in zip(stages, accs))

        def heads_of(x):
            return x.view(length, heads, d).transpose(0, 1)

        keys, values = heads_of(ly.key.out.decode(k)), heads_of(ly.value.out.decode(v))
        name, one_bit = f"layers.{ly.index}.attn", ly.kv_bits == 1
        q_pop = ly.query.out.pop
        with self._block(f"{name}.qk"):
            qk = self.scores(f"{name}.qk", self.product(f"{name}.qk", heads_of(q), q_pop, keys, one_bit), q_pop, keys)
        scores = potential_from_accumulator(qk.to(torch.float32)[None], ly.qk_scale, q_pop.alpha)
        key_mask = mask[:, None, None, :].bool()
        if self.snn.config.softmax == "ptsoftmax":
            from otters.models.sorbet_ops import pt_softmax

            probs = pt_softmax(scores, key_mask)
        else:
            probs = torch.softmax(scores, dim=-1)
        p = self.fire(ly.p, probs[0], self._value_thresholds(ly.p))
        with self._block(f"{name}.pv"):
            pv = self.product(f"{name}.pv", p, ly.p.pop, values.transpose(-1, -2), one_bit)
        ctx = self.fire(ly.pv_out, pv, self._pv_thresholds(ly))
        ctx = ctx.transpose(0, 1).reshape(length, hidden)
        a = ly.out.potential(self.readout(ly.out, self.linear(ly.out, ctx)))
        h1 = _norm(ly.attn_norm, a[None] + h, mask)
        f_in = self.fire(ly.ffn_in, h1[0], self._value_thresholds(ly.ffn_in))
        f_acc = self.linear(ly.ffn1, f_in)
        f_out = self.fire(ly.ffn1.out, f_acc, self.stage_thresholds(ly.ffn1))
        f = ly.ffn2.potential(self.readout(ly.ffn2, self.linear(ly.ffn2, f_out)))
        return _norm(ly.ffn_norm, f[None] + h1, mask)

    @torch.no_grad()
    def sentence(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """Logits (1, labels) of one unpadded sentence (ids, types of shape (L,))."""
        net = self.snn
        mask = torch.ones((1, ids.numel()), dtype=torch.int64)
        h = net.embeddings(ids[None], types[None])
        for ly in net.layers:
            h = self.layer(ly, h, mask)
        cls = self.fire(net.pooler_in, h[:, 0], self._value_thresholds(net.pooler_in))
        pooled = net.pooler_act(net.pooler.potential(self.readout(net.pooler, self.linear(net.pooler, cls))))
        return net.classifier(pooled)

    @torch.no_grad()
    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> ExecutorOutput:
        """Logits of every row of ``input_ids`` (B, L), each sentence run alone at its own length."""
        ids = torch.as_tensor(input_ids)
        mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
        types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
        logits = []
        with self.counter if self.counter is not None else contextlib.nullcontext():
            for row in range(ids.shape[0]):
                real = mask[row].bool()
                logits.append(self.sentence(ids[row][real], types[row][real]))
        return ExecutorOutput(torch.cat(logits), self.steps, self.max_spikes, self.spikes, self.accumulators)
