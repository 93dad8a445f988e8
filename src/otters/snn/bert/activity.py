"""What a spiking BERT measurably does on real inputs: per population and per stage activity.

A :class:`BertActivity` observes ``SpikingBert.forward(..., activity=...)`` (``otters.snn.bert.observer``)
and counts, on real (unpadded) tokens only, what the operation audit (:mod:`otters.snn.audit`) and the
energy model need:

- per firing population: neurons evaluated, spikes, the spike-step histogram, and the stepped-threshold
  comparisons (a TTFS neuron compares at steps 0..k until it fires at k, all T when silent; Prop. 1);
- per spiking stage: input spikes, synaptic events split by the sign of the synapse (+1: add,
  -1: subtract; 0 or a multi-bit level for 4-bit K/V), and the active (token, row tile, step)
  triples a column ADC would convert;
- per digital block: how many values it processes.

M-TTFS populations (Matterhorn, ``otters.snn.mttfs.bert``) pass their spikes' polarity: a negative
spike on a +1 synapse is a subtraction (and on a -1 synapse an addition), and the column ADC reads
each (step, polarity) pair separately (an optical pulse cannot be negative).

Source: Otters (ICLR 2026, arXiv 2509.18968), Prop. 1 and Sec. 4 (energy from spike counts).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from otters.snn.bert.observer import ForwardObserver
from otters.snn.mlp.traces import SpikeTrace


@dataclass
class PopulationActivity:
    """Firing of one population. ``domain``: value (fed by a digital block) or accumulator."""

    name: str
    T: int
    domain: str
    window: int
    layer: int | None
    fan_out: int = 0
    neurons: int = 0
    spikes: int = 0
    compares: int = 0
    step_histogram: list[int] = field(default_factory=list)
    negative_histogram: list[int] = field(default_factory=list)  # M-TTFS: spikes of the negative sub-population per step

    @property
    def negative_spikes(self) -> int:
        return sum(self.negative_histogram)

    def deviation_histogram(self) -> list[int]:
        """Neurons per signed code d = polarity * (T - k), d = -T..T (index d + T; d = 0: silent). Plain TTFS
        spikes are all positive, so d is the offset code q - qmin; M-TTFS: d = (q - m) / code_scale."""
        T = self.T
        neg = self.negative_histogram or [0] * T
        out = [0] * (2 * T + 1)
        for k in range(T):
            out[T + (T - k)] += self.step_histogram[k] - neg[k]
            out[T - (T - k)] += neg[k]
        out[T] = self.neurons - self.spikes
        return out

    def trace(self) -> SpikeTrace:
        """The population as an ``otters.snn.SpikeTrace`` (samples = neurons evaluated / neurons per sample)."""
        return SpikeTrace(self.name, self.T, self.neurons, 1, self.spikes, list(self.step_histogram), self.fan_out,
                          self.spikes * self.fan_out, self.spikes * self.fan_out)


@dataclass
class StageActivity:
    """Integration of one spiking stage (kind linear, qk or pv).

    ``events_plus`` / ``events_minus`` / ``events_other``: synaptic events on a +1, -1 or other
    (0 or multi-bit) synapse; ``column_active``: active (token, row tile, step) triples for the column
    ADC with ``column_rows`` rows; ``outputs``: accumulators formed; ``readout``: read out digitally
    (no output population); ``scores``/``kv_rows``: QK^T scores and stored K rows (offset correction).
    """

    name: str
    kind: str
    window: int
    layer: int | None
    population: str
    T_in: int
    signed_input: bool
    fan_in: int
    fan_out: int
    readout: bool
    column_rows: int
    spikes: int = 0
    events_plus: int = 0
    events_minus: int = 0
    events_other: int = 0
    column_active: int = 0
    outputs: int = 0
    scores: int = 0
    kv_rows: int = 0

    @property
    def synaptic_events(self) -> int:
        return self.events_plus + self.events_minus + self.events_other


class BertActivity(ForwardObserver):
    """Accumulates activity over one or more forward passes of a SpikingBert (an observer of them).

    ``column_rows``: rows per column tile of the column ADC placement (default 256, as in
    ``otters.energy.Hardware``). ``blocks`` counts digital work: tokens, values, scores, rows.
    """

    def __init__(self, column_rows: int = 256):
        self.column_rows = int(column_rows)
        self.populations: dict[str, PopulationActivity] = {}
        self.stages: dict[str, StageActivity] = {}
        self.sentences = 0
        self.tokens = 0
        self.lengths: list[int] = []

    # -- the forward's events (otters.snn.bert.observer) -----------------------------------------
    def batch(self, token_mask: torch.Tensor) -> None:
        self.add_batch(token_mask)

    def fired(self, firing, spikes, valid, window, layer, fan_out=0) -> None:
        steps, polarity = spikes
        self.population(firing, steps, valid, window, layer, fan_out, polarity)

    def integrated(self, stage, firing_in, spikes, acc, token_mask) -> None:
        steps, polarity = spikes
        self.linear(stage, steps, token_mask, polarity)

    def attention(self, kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit) -> None:
        steps, polarity = spikes
        if kind == "qk":
            self.qk(name, window, layer, firing_in.pop, steps, stored, token_mask, one_bit, polarity)
        else:
            self.pv(name, window, layer, firing_in.pop, steps, stored, token_mask, False, one_bit, polarity)

    # -- inputs -------------------------------------------------------------------------------
    def add_batch(self, token_mask: torch.Tensor) -> None:
        lengths = token_mask.sum(dim=1).tolist()
        self.sentences += len(lengths)
        self.tokens += int(sum(lengths))
        self.lengths += [int(n) for n in lengths]

    @property
    def attention_pairs(self) -> int:
        """Sum over sentences of n^2 (query, key) pairs per head."""
        return sum(n * n for n in self.lengths)

    # -- populations --------------------------------------------------------------------------
    def population(self, firing, steps: torch.Tensor, valid: torch.Tensor, window: int, layer: int | None,
                   fan_out: int = 0, polarity: torch.Tensor | None = None) -> None:
        """Count a population's firing; ``valid`` broadcasts to ``steps`` (True = a real neuron)."""
        T = firing.T
        valid = valid.expand_as(steps)
        real = steps[valid]
        rec = self.populations.get(firing.name)
        if rec is None:
            rec = PopulationActivity(firing.name, T, firing.thresholds.domain, window, layer, fan_out,
                                     step_histogram=[0] * T)
            self.populations[firing.name] = rec
        hist = torch.bincount(real.reshape(-1), minlength=T + 1)
        rec.neurons += int(real.numel())
        rec.spikes += int(hist[:T].sum())
        rec.compares += int(torch.clamp(real + 1, max=T).sum())
        rec.step_histogram = [a + int(b) for a, b in zip(rec.step_histogram, hist[:T].tolist())]
        if polarity is not None:
            neg = real[polarity.expand_as(steps)[valid] < 0]
            counts = torch.bincount(neg.reshape(-1), minlength=T + 1)[:T].tolist()
            rec.negative_histogram = [a + int(b) for a, b in zip(rec.negative_histogram or [0] * T, counts)]

    # -- stages -------------------------------------------------------------------------------
    def _stage(self, name, kind, window, layer, pop, fan_in, fan_out, readout) -> StageActivity:
        rec = self.stages.get(name)
        if rec is None:
            rec = StageActivity(name, kind, window, layer, pop.name, pop.T, _offset_corrected(pop), fan_in, fan_out,
                                readout, self.column_rows)
            self.stages[name] = rec
        return rec

    def linear(self, stage, steps: torch.Tensor, token_mask: torch.Tensor, polarity: torch.Tensor | None = None) -> None:
        """A static-weight stage: steps (..., in) on tokens with ``token_mask`` (...); ``polarity`` of M-TTFS spikes."""
        pop = stage.pop_in
        rec = self._stage(stage.name, "linear", stage.window, stage.layer, pop, stage.fan_in, stage.fan_out,
                          stage.out is None)
        keep = token_mask.bool()
        real = steps[keep].reshape(-1, stage.fan_in)
        fired = real < pop.T
        negative = None if polarity is None else polarity[keep].reshape(-1, stage.fan_in) < 0
        per_input = fired.sum(dim=0)
        plus = int(per_input @ stage.plus_per_input)
        total = int(per_input.sum())
        if negative is not None:  # a negative spike adds on a -1 synapse and subtracts on a +1 one
            neg = (fired & negative).sum(dim=0)
            plus += int(neg.sum()) * stage.fan_out - 2 * int(neg @ stage.plus_per_input)
        rec.spikes += total
        rec.events_plus += plus
        rec.events_minus += total * stage.fan_out - plus
        rec.outputs += real.shape[0] * stage.fan_out
        rec.column_active += _active_steps(real, pop.T, self.column_rows, negative) * stage.fan_out

    def qk(self, name, window, layer, pop, q_steps, k_levels, token_mask, one_bit: bool, polarity=None) -> None:
        """Q.K^T: q_steps / k_levels (B, H, L, d); each Q spike drives every real key of its sentence."""
        rec = self._stage(name, "qk", window, layer, pop, q_steps.shape[-1], q_steps.shape[-2], True)
        m = token_mask.bool()[:, None, :, None]
        spiking = (q_steps < pop.T) & m
        fired = spiking.sum(dim=2)  # (B, H, d) spikes per channel
        n = token_mask.sum(dim=1)
        rec.spikes += int(fired.sum())
        if one_bit:  # selective add / subtract by the stored sign of each real key
            keys = k_levels.masked_fill(~m, 0)
            pos_keys, neg_keys = (keys > 0).sum(dim=2), (keys < 0).sum(dim=2)
            neg = torch.zeros_like(fired) if polarity is None else (spiking & (polarity < 0)).sum(dim=2)
            pos = fired - neg
            rec.events_plus += int((pos * pos_keys + neg * neg_keys).sum())
            rec.events_minus += int((pos * neg_keys + neg * pos_keys).sum())
        else:  # 4-bit K: every event is a multiply-add by the stored level
            rec.events_other += int((fired.sum(dim=(1, 2)) * n).sum())
        heads = q_steps.shape[1]
        rec.scores += int((n * n).sum()) * heads
        rec.outputs += int((n * n).sum()) * heads
        rec.kv_rows += int(n.sum()) * heads

    def pv(self, name, window, layer, pop, p_steps, v_levels, token_mask, readout: bool, one_bit: bool,
           polarity=None) -> None:
        """P.V: p_steps (B, H, L, L) (query, key), v_levels (B, H, L, d); each P spike drives d values."""
        d = v_levels.shape[-1]
        rec = self._stage(name, "pv", window, layer, pop, p_steps.shape[-1], d, readout)
        mask = token_mask.bool()
        pair = mask[:, None, :, None] & mask[:, None, None, :]
        spiking = (p_steps < pop.T) & pair
        fired = spiking.sum(dim=2)  # (B, H, keys): spikes per key
        rec.spikes += int(fired.sum())
        if one_bit:
            pos_v, neg_v = (v_levels > 0).sum(dim=-1), (v_levels < 0).sum(dim=-1)
            neg = torch.zeros_like(fired) if polarity is None else (spiking & (polarity < 0)).sum(dim=2)
            pos = fired - neg
            rec.events_plus += int((pos * pos_v + neg * neg_v).sum())
            rec.events_minus += int((pos * neg_v + neg * pos_v).sum())
        else:
            rec.events_other += int(fired.sum()) * d
        rec.outputs += int(mask.sum()) * p_steps.shape[1] * d

    def to_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "lengths": list(self.lengths),
            "column_rows": self.column_rows,
            "populations": [asdict(p) for p in self.populations.values()],
            "stages": [asdict(s) | {"synaptic_events": s.synaptic_events} for s in self.stages.values()],
        }

    def traces(self) -> list[SpikeTrace]:
        """One SpikeTrace per population, in firing order."""
        return [p.trace() for p in self.populations.values()]


def _offset_corrected(pop) -> bool:
    """True when a stage needs the digital offset correction of its input code: plain TTFS with a signed
    offset (code_offset != 0), or M-TTFS with a silent level m != 0 (sum_i m w_ij)."""
    silent = getattr(pop, "silent", None)
    if silent is not None:
        return bool((silent != 0).any())
    return pop.code_offset != 0


def _active_steps(steps: torch.Tensor, T: int, rows: int, negative: torch.Tensor | None = None) -> int:
    """Sum over tokens and row tiles of the number of distinct steps at which some input spiked
    (``negative`` given: distinct (step, polarity) pairs, the two sub-populations read separately)."""
    tokens, width = steps.shape
    if tokens == 0:
        return 0
    tiles = math.ceil(width / rows)
    keys = steps if negative is None else steps + (T + 1) * negative.to(torch.int64)
    bins = T + 1 if negative is None else 2 * (T + 1)
    padded = torch.full((tokens, tiles * rows), T, dtype=torch.int64)
    padded[:, :width] = keys
    present = torch.zeros((tokens, tiles, bins), dtype=torch.bool)
    present.scatter_(2, padded.reshape(tokens, tiles, rows), True)
    return int(present[..., :T].sum()) + (int(present[..., T + 1:2 * T + 1].sum()) if negative is not None else 0)
