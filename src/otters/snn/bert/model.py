"""The spiking BERT, read as its windows (Otters, ICLR 2026, arXiv 2509.18968, Proposition 1, Sec. 3).

A converted QBert student (presets qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv; built by
``otters.snn.convert``). Per encoder layer, six TTFS windows of T = 15 steps (the window numbering
of ``otters.models.stages``):

0. the input population (the layer input h, a digital value) fires; Q, K, V stages integrate;
1. the Q population fires into Q.K^T; K and V fire into the PE-local K/V storage;
2. (digital) the scores are read out and PTsoftmax (or softmax) gives P; P fires into P.V;
3. the PV output population fires; the O stage integrates (read out)
   (windows 1-3, the 1-bit / 4-bit K/V attention: ``otters.snn.bert.attention``);
4. (digital) residual add + BSPN (or LayerNorm); the FFN input population fires; FFN1 integrates;
5. the FFN2 input population (ReLU folded into its unsigned threshold) fires; FFN2 integrates
   (read out), then residual add + BSPN.

After the last layer the pooler input population fires, the pooler integrates (read out), and the
ReLU pooler and the float classifier run digitally. Embeddings (binary tables + embedding LayerNorm),
norms, (PT)softmax and residual adds are the student's own modules (copied), run between windows:
the "shared digital arithmetic" that, with ``potential_from_accumulator``, makes the logits equal
the QNN's bit for bit on the nominal device. A drawn chip (``variation``) makes them lossy.

M-TTFS (Matterhorn's masked TTFS, ``otters.snn.mttfs.bert``): every population, the stored K / V
included, gives its silent state to a calibrated level m and fires one spike with a polarity; with a
dead zone configured (``otters.snn.mttfs.settings.configure_coding``) the logits equal the dead-zone
QNN's bit for bit. The forward is the same; only the populations differ.

Bookkeeping (activity counts, stage records) never interrupts the windows: every population and
stage reports to an observer (``otters.snn.bert.observer``) passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from otters.errors import OttersError
from otters.models.sorbet_ops import BSPN
from otters.snn.bert.activity import BertActivity
from otters.snn.bert.attention import spiking_attention
from otters.snn.bert.observer import ForwardObserver, ObserverGroup, StageRecorder
from otters.snn.bert.stages import FIRE_MODES, Firing, LinearStage
from otters.snn.tables import DeviceTables, DeviceVariation


@dataclass
class SpikingBertOutput:
    """logits (float32), pooled, last hidden state; ``records``: per stage (levels_in, weight levels, acc)
    when recording was asked for (verification)."""

    logits: torch.Tensor
    pooled: torch.Tensor
    last_hidden_state: torch.Tensor
    records: list | None = None


@dataclass(eq=False)
class SpikingLayer:
    """One encoder layer: its populations, stages and digital blocks."""

    index: int
    input: Firing
    query: LinearStage
    key: LinearStage
    value: LinearStage
    p: Firing
    pv_out: Firing
    out: LinearStage
    ffn_in: Firing
    ffn1: LinearStage
    ffn2: LinearStage
    qk_scale: torch.Tensor
    heads: int
    attn_norm: nn.Module
    ffn_norm: nn.Module
    kv_bits: int


class SpikingBert:
    """A converted spiking BERT; call :meth:`forward` (or the object) on token ids.

    ``fire_mode``: "event" (closed-form firing, fast) or "threshold" (every population compares its
    input with its stepped thresholds, the hardware's operation); both give the same spikes.
    """

    coding = "ttfs"  # "mttfs" when the populations are masked (M-TTFS, with or without a dead zone)

    def __init__(self, config, embeddings, layers, pooler_in, pooler, pooler_act, classifier, curve, adc_bits=8):
        self.config, self.embeddings, self.layers = config, embeddings, list(layers)
        self.pooler_in, self.pooler, self.pooler_act, self.classifier = pooler_in, pooler, pooler_act, classifier
        self.curve, self.adc_bits = curve, int(adc_bits)
        self._nominal = DeviceTables(curve, self.adc_bits)

    @property
    def linear_stages(self) -> list[LinearStage]:
        return [s for ly in self.layers for s in (ly.query, ly.key, ly.value, ly.out, ly.ffn1, ly.ffn2)] + [self.pooler]

    @property
    def windows(self) -> int:
        """TTFS windows per inference: 6 per layer plus the pooler's."""
        return 6 * len(self.layers) + 1

    def tables(self, variation: DeviceVariation | None = None) -> DeviceTables:
        if variation is None or variation.is_nominal:
            return self._nominal
        return DeviceTables(self.curve, self.adc_bits, variation)

    def __call__(self, *args, **kwargs) -> SpikingBertOutput:
        return self.forward(*args, **kwargs)

    @torch.no_grad()
    def forward(self, input_ids, attention_mask=None, token_type_ids=None, *, variation: DeviceVariation | None = None,
                fire_mode: str = "event", activity: BertActivity | None = None, record: bool = False,
                observer: ForwardObserver | None = None) -> SpikingBertOutput:
        """One inference per row of ``input_ids`` (B, L). ``activity`` collects spike counts for the audit;
        ``record`` keeps each stage's (name, levels_in, weight_levels, acc) for verification; ``observer``
        is told of every population and stage too (``otters.snn.bert.observer``)."""
        if fire_mode not in FIRE_MODES:
            raise OttersError(f"unknown fire mode {fire_mode!r}; choose one of {', '.join(FIRE_MODES)}")
        ids, mask, types = self._checked_inputs(input_ids, attention_mask, token_type_ids)
        recorder = StageRecorder() if record else None
        run = _Pass(self.tables(variation), fire_mode, mask, self.config.softmax,
                    ObserverGroup(observer, activity, recorder))
        run.watch.batch(mask)
        h = self.embeddings(ids, types)
        for layer in self.layers:
            h = self._layer(layer, h, run)
        pooled = self._pooler(h[:, 0], run)
        logits = self.classifier(pooled)
        return SpikingBertOutput(logits, pooled, h, None if recorder is None else recorder.records)

    def _layer(self, ly: SpikingLayer, h: torch.Tensor, run: "_Pass") -> torch.Tensor:
        """One encoder layer: h1 = norm(h + O(attention(h))); h2 = norm(h1 + FFN2(FFN1(h1)))."""
        hidden = h.shape[-1]
        tok = run.mask.bool()
        valid = tok[:, :, None]
        # window 0: the layer input fires; Q, K, V integrate
        spikes = run.fire(ly.input, h, 0, ly.index, valid, 3 * hidden)
        q_acc, k_acc, v_acc = (run.integrate(s, ly.input, spikes, tok) for s in (ly.query, ly.key, ly.value))
        # windows 1-3: Q.K^T with the stored K, (PT)softmax, P.V with the stored V; the PV outputs fire
        ctx = spiking_attention(ly, q_acc, k_acc, v_acc, run)
        a = ly.out.potential(run.integrate(ly.out, ly.pv_out, ctx, tok))  # O integrates, read out
        h1 = _norm(ly.attn_norm, a + h, run.mask)
        # window 4: the FFN input fires; FFN1 integrates
        spikes = run.fire(ly.ffn_in, h1, 4, ly.index, valid, ly.ffn1.fan_out)
        f_acc = run.integrate(ly.ffn1, ly.ffn_in, spikes, tok)
        # window 5: the FFN2 input (ReLU folded in) fires; FFN2 integrates, read out
        f_spikes = run.fire(ly.ffn1.out, f_acc, 5, ly.index, valid)
        f = ly.ffn2.potential(run.integrate(ly.ffn2, ly.ffn1.out, f_spikes, tok))
        return _norm(ly.ffn_norm, f + h1, run.mask)

    def _pooler(self, cls: torch.Tensor, run: "_Pass") -> torch.Tensor:
        """The pooler input ([CLS]) fires; the pooler integrates, read out, then its activation."""
        real = torch.ones(cls.shape[0], dtype=torch.bool)
        spikes = run.fire(self.pooler_in, cls, 0, None, real[:, None], self.pooler.fan_out)
        return self.pooler_act(self.pooler.potential(run.integrate(self.pooler, self.pooler_in, spikes, real)))

    def _checked_inputs(self, input_ids, attention_mask, token_type_ids):
        """(ids, mask, types) as tensors, after checking their shape and the vocabulary."""
        cfg = self.config
        ids = torch.as_tensor(input_ids)
        if ids.dim() != 2:
            raise OttersError(f"input_ids must be (batch, length), got shape {tuple(ids.shape)}")
        if ids.shape[1] > cfg.max_position_embeddings:
            raise OttersError(f"sequence length {ids.shape[1]} exceeds max_position_embeddings "
                              f"{cfg.max_position_embeddings}; truncate the input")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= cfg.vocab_size):
            raise OttersError(f"token ids must lie in [0, {cfg.vocab_size}); tokenise with this model's vocabulary")
        mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
        types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
        return ids, mask, types


class _Pass:
    """One forward pass: device tables, fire mode, token mask, the QNN's attention masks, and the
    observer (``watch``) every population and stage reports to."""

    def __init__(self, tables: DeviceTables, mode: str, mask: torch.Tensor, softmax: str, watch: ForwardObserver):
        self.tables, self.mode, self.mask, self.softmax, self.watch = tables, mode, mask, softmax, watch
        self.key_mask = mask[:, None, None, :].bool()
        dtype = torch.float32
        self.attn_bias = (1.0 - self.key_mask.to(dtype)) * torch.finfo(dtype).min  # the QNN's additive mask

    def fire(self, firing: Firing, x: torch.Tensor, window: int, layer: int | None, valid: torch.Tensor,
             fan_out: int = 0):
        """(steps, polarity) of a population on input x (polarity None under plain TTFS)."""
        spikes = firing.spikes(x, self.mode)
        self.watch.fired(firing, spikes, valid, window, layer, fan_out)
        return spikes

    def integrate(self, stage: LinearStage, firing_in: Firing, spikes, token_mask: torch.Tensor) -> torch.Tensor:
        """The accumulator of a static-weight stage from the spikes of its input population."""
        steps, polarity = spikes
        acc = stage.accumulate(steps, self.tables, polarity)
        self.watch.integrated(stage, firing_in, spikes, acc, token_mask)
        return acc


def iter_batches(input_ids, attention_mask=None, token_type_ids=None, batch_size: int = 32):
    """Yield (ids, mask, types) batches of ``batch_size`` rows, each cut to its longest real row.

    Padding sits at the end of each row (attention_mask 0); cutting the all-padding columns changes no
    real token of the QNN or the SNN (padding is masked out of every attention and norm), and it keeps
    the work of sorted inputs proportional to their lengths.
    """
    ids = torch.as_tensor(input_ids)
    if ids.dim() != 2:
        raise OttersError(f"input_ids must be (batch, length), got shape {tuple(ids.shape)}")
    mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
    types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
    if mask.shape != ids.shape or types.shape != ids.shape:
        raise OttersError("attention_mask and token_type_ids must have the shape of input_ids")
    step = max(1, int(batch_size))
    for start in range(0, ids.shape[0], step):
        m = mask[start:start + step]
        width = max(int(m.sum(dim=1).max()) if m.numel() else 0, 1)
        yield ids[start:start + step, :width], m[:, :width], types[start:start + step, :width]


def _norm(norm: nn.Module, x: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
    return norm(x, token_mask) if isinstance(norm, BSPN) else norm(x)
