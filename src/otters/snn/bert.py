"""Whole-model conversion of a quantized BERT student into a spiking BERT (Otters, Proposition 1).

:func:`convert` turns a QBert student (presets qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv) into a
:class:`SpikingBert`. Per encoder layer, six TTFS windows of T = 15 steps (Otters Sec. 3; the
window numbering of ``otters.models.stages``):

0. the input population (the layer input h, a digital value) fires; Q, K, V stages integrate;
1. the Q population fires; Q.K^T integrates with the stored K as synapses. The K and V populations
   fire in this window too and their spikes are *written* into the PE-local K/V storage of the
   attention cores (Otters' dataflow: binary K/V preloaded, the TTFS query broadcast). 1-bit K/V
   (levels {-1, +1}, no zero) are sign neurons with T = 1: one spike at t_0 for +1, silence for -1,
   so the stored bit is "did it spike"; 4-bit K/V are decoded from the spike step into a level;
2. (digital between windows) the scores are read out and PTsoftmax (or softmax) gives P; the P
   population fires; P.V integrates with the stored V;
3. the PV output population fires; the O stage integrates (read out);
4. (digital) residual add + BSPN (or LayerNorm); the FFN input population fires; FFN1 integrates;
5. the FFN2 input population (ReLU folded into its unsigned threshold) fires; FFN2 integrates
   (read out), then residual add + BSPN.

After the last layer the pooler input population fires, the pooler integrates (read out), and the
ReLU pooler and the float classifier run digitally. Embeddings (binary tables + embedding LayerNorm),
norms, (PT)softmax and residual adds are the student's own modules (copied), run between windows:
the "shared digital arithmetic" that, with ``potential_from_accumulator``, makes the logits equal
the QNN's bit for bit on the nominal device. A drawn chip (``variation``) makes them lossy.

``coding="mttfs"`` (Matterhorn's masked TTFS, ``otters.snn.bert_mttfs``): every population, the
stored K / V included, gives its silent state to a calibrated level m and fires one spike with a
polarity; with a dead zone configured (``otters.snn.mttfs.configure_coding``) the logits equal the
dead-zone QNN's bit for bit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from otters.device import PAPER_CURVE, DecayCurve
from otters.errors import OttersError
from otters.quant import potential_from_accumulator
from otters.snn.bert_activity import BertActivity
from otters.snn.bert_mttfs import PopulationPlan
from otters.snn.bert_stages import FIRE_MODES, Firing, LinearStage, attention_product
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


def _stage(plan, linear, name, index, window, layer, pop_in, out_quant, out_name) -> LinearStage:
    codes, scale = linear.weight_codes()
    bias = None if linear.bias is None else linear.bias.detach().to(torch.float32).clone()
    stage = LinearStage(name, index, window, codes.detach().clone(), scale.detach().to(torch.float32).clone(), bias,
                        pop_in, layer=layer)
    if out_quant is not None:
        stage.out = plan.accumulator(out_quant, out_name, stage.potential, stage.fan_out)
    return stage


def _check_student(model) -> tuple[nn.Module, object]:
    bert = getattr(model, "bert", None)
    cfg = getattr(bert, "config", None)
    if cfg is None or not hasattr(model, "classifier"):
        raise OttersError(f"otters.snn.bert.convert needs a QBertForSequenceClassification, got {type(model).__name__}")
    if not (cfg.binary_weights and cfg.quantized_acts):
        raise OttersError(f"preset {cfg.preset!r} has no spiking equivalent: it needs 1-bit weights and quantized "
                          "activations (qnn-w1a4, sorbet, otters-4bitkv or otters-1bitkv)")
    if cfg.hidden_act != "relu":
        raise OttersError(f"hidden_act {cfg.hidden_act!r}: a TTFS neuron realises round + clip, so the FFN needs "
                          "ReLU folded into an unsigned quantizer (hidden_act relu)")
    return bert, cfg


@torch.no_grad()
def convert(model, curve: DecayCurve | None = None, adc_bits: int = 8, coding: str | None = None, calibration=None,
            silent: dict | None = None) -> "SpikingBert":
    """The spiking BERT equivalent to the (calibrated) student ``model`` on the device ``curve``.

    Otters Prop. 1: T = 2^n - 1, O(t_k) = (T - k)/T, gamma = w alpha_in T, stepped thresholds
    alpha (T - k), layer-wise windows. Raises OttersError for presets without quantized activations,
    non-ReLU FFNs and uncalibrated quantizers (run one forward on data first).

    ``coding``: "ttfs" or "mttfs" (Matterhorn); default the student's own (``configure_coding`` /
    ``load_coding``; "ttfs" when never configured). M-TTFS silent levels: ``silent`` {quantizer module
    name: level}, the student's dead-zone quantizers' own, or the most frequent levels on
    ``calibration`` (a batch dict or a list of them: training sentences); see
    :class:`otters.snn.bert_mttfs.PopulationPlan`. A dead zone always converts to M-TTFS populations.
    """
    from otters.snn.mttfs import model_coding

    bert, cfg = _check_student(model)
    plan = PopulationPlan(model, coding or model_coding(model), calibration, silent)
    layers, index = [], 0
    for i, layer in enumerate(bert.layers):
        a, p = layer.attn, f"layers.{i}"
        inp = plan.value(a.input_quant, f"{p}.attn.input_quant")
        stages = []
        for name, linear, quant in (("query", a.query, a.q_quant), ("key", a.key, a.k_quant), ("value", a.value, a.v_quant)):
            stages.append(_stage(plan, linear, f"{p}.attn.{name}", index, 0, i, inp.pop, quant, f"{p}.attn.{name[0]}_quant"))
            index += 1
        prob = plan.value(a.p_quant, f"{p}.attn.p_quant")
        pv_scale = a.v_quant.alpha.detach().to(torch.float32).clone()
        pv_out = plan.accumulator(a.out_quant, f"{p}.attn.out_quant",
                                  lambda acc, s=pv_scale, al=prob.pop.alpha: potential_from_accumulator(acc, s, al), None)
        out = _stage(plan, a.out, f"{p}.attn.out", index, 3, i, pv_out.pop, None, None)
        ffn_in = plan.value(layer.ffn_in_quant, f"{p}.ffn_in_quant")
        ffn1 = _stage(plan, layer.ffn1, f"{p}.ffn1", index + 1, 4, i, ffn_in.pop, layer.ffn2_in_quant, f"{p}.ffn2_in_quant")
        ffn2 = _stage(plan, layer.ffn2, f"{p}.ffn2", index + 2, 5, i, ffn1.out.pop, None, None)
        index += 3
        layers.append(SpikingLayer(i, inp, *stages, prob, pv_out, out, ffn_in, ffn1, ffn2,
                                   a.qk_weight_scale().clone(), a.heads, _digital(layer.attn_norm),
                                   _digital(layer.ffn_norm), int(cfg.kv_bits)))
    pooler_in = plan.value(bert.pooler_quant, "pooler_quant")
    pooler = _stage(plan, bert.pooler, "pooler", index, 0, None, pooler_in.pop, None, None)
    net = SpikingBert(cfg, _digital(bert.embeddings), layers, pooler_in, pooler, bert.pooler_act,
                      _digital(model.classifier), curve or PAPER_CURVE, adc_bits)
    net.coding = "mttfs" if plan.masked else "ttfs"
    return net


def _digital(module: nn.Module) -> nn.Module:
    """A frozen eval-mode copy of a digital block (later training of the student does not change the SNN).

    Binary embedding tables are frozen to their codes and scales once (the same values the student
    derives at every forward: ``codes * scale``), so they are not re-binarised per inference.
    """
    from otters.nn.qlinear import QuantEmbedding

    block = copy.deepcopy(module).eval()
    for param in block.parameters():
        param.requires_grad_(False)
    for sub in block.modules():
        if isinstance(sub, QuantEmbedding) and sub.binary and not sub.frozen:
            sub.freeze()
    return block


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
                fire_mode: str = "event", activity: BertActivity | None = None, record: bool = False) -> SpikingBertOutput:
        """One inference per row of ``input_ids`` (B, L). ``activity`` collects spike counts for the audit;
        ``record`` keeps each stage's (name, levels_in, weight_levels, acc) for verification."""
        if fire_mode not in FIRE_MODES:
            raise OttersError(f"unknown fire mode {fire_mode!r}; choose one of {', '.join(FIRE_MODES)}")
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
        run = _Run(self, self.tables(variation), fire_mode, activity, [] if record else None, mask)
        if activity is not None:
            activity.add_batch(mask)
        h = self.embeddings(ids, types)
        for layer in self.layers:
            h = run.layer(layer, h)
        pooled = run.pooler(h[:, 0])
        logits = self.classifier(pooled)
        return SpikingBertOutput(logits, pooled, h, run.records)


class _Run:
    """The state of one forward: device tables, fire mode, masks, and the optional recorders."""

    def __init__(self, net: SpikingBert, tables: DeviceTables, mode: str, activity, records, mask):
        self.net, self.tables, self.mode, self.activity, self.records = net, tables, mode, activity, records
        self.mask = mask
        self.key_mask = mask[:, None, None, :].bool()
        dtype = torch.float32
        self.attn_bias = (1.0 - self.key_mask.to(dtype)) * torch.finfo(dtype).min  # the QNN's additive mask

    def fire(self, firing: Firing, x, window, layer, valid, fan_out=0):
        """(steps, polarity) of a population (polarity None under plain TTFS), counted by the activity."""
        steps, polarity = firing.spikes(x, self.mode)
        if self.activity is not None:
            self.activity.population(firing, steps, valid, window, layer, fan_out, polarity)
        return steps, polarity

    def linear(self, stage: LinearStage, spikes, token_mask, input_firing) -> torch.Tensor:
        steps, polarity = spikes
        acc = stage.accumulate(steps, self.tables, polarity)
        if self.activity is not None:
            self.activity.linear(stage, steps, token_mask, polarity)
        if self.records is not None:
            self.records.append((stage.name, input_firing.decode(steps, polarity), None, acc))
        return acc

    def fire_out(self, stage: LinearStage, acc, valid):
        return self.fire(stage.out, acc, stage.window + 1, stage.layer, valid)

    def layer(self, ly: SpikingLayer, h: torch.Tensor) -> torch.Tensor:
        b, length, hidden = h.shape
        heads, d = ly.heads, hidden // ly.heads
        tok = self.mask.bool()
        valid = tok[:, :, None]
        # window 0: the layer input fires; Q, K, V integrate
        spikes = self.fire(ly.input, h, 0, ly.index, valid, 3 * hidden)
        q_acc, k_acc, v_acc = (self.linear(s, spikes, tok, ly.input) for s in (ly.query, ly.key, ly.value))
        # window 1: Q fires into Q.K^T; K and V fire into the PE-local K/V storage
        q_spikes, k_spikes, v_spikes = (self.fire_out(s, acc, valid) for s, acc in
                                        ((ly.query, q_acc), (ly.key, k_acc), (ly.value, v_acc)))

        def heads_of(x):
            return None if x is None else x.view(b, length, heads, d).transpose(1, 2)

        q_steps, q_pol = heads_of(q_spikes[0]), heads_of(q_spikes[1])
        k_levels = heads_of(ly.key.out.decode(*k_spikes))
        v_levels = heads_of(ly.value.out.decode(*v_spikes))
        q_fire = ly.query.out
        qk_acc = attention_product(q_steps, q_fire.pop, k_levels, 2 ** max(ly.kv_bits - 1, 0), self.tables, q_pol)
        name = f"layers.{ly.index}.attn"
        if self.activity is not None:
            self.activity.qk(f"{name}.qk", 1, ly.index, q_fire.pop, q_steps, k_levels, self.mask, ly.kv_bits == 1, q_pol)
        if self.records is not None:
            self.records.append((f"{name}.qk", q_fire.decode(q_steps, q_pol), k_levels, qk_acc))
        # digital: scores read out, (PT)softmax
        scores = potential_from_accumulator(qk_acc, ly.qk_scale, q_fire.pop.alpha)
        if self.net.config.softmax == "ptsoftmax":
            from otters.models.sorbet_ops import pt_softmax

            probs = pt_softmax(scores, self.key_mask)
        else:
            probs = torch.softmax(scores + self.attn_bias, dim=-1)
        # window 2: P fires into P.V
        pair = tok[:, None, :, None] & tok[:, None, None, :]
        p_steps, p_pol = self.fire(ly.p, probs, 2, ly.index, pair, d)
        v_t = v_levels.transpose(-1, -2)
        pv_acc = attention_product(p_steps, ly.p.pop, v_t, 2 ** max(ly.kv_bits - 1, 0), self.tables, p_pol)
        if self.activity is not None:
            self.activity.pv(f"{name}.pv", 2, ly.index, ly.p.pop, p_steps, v_levels, self.mask, False, ly.kv_bits == 1,
                             p_pol)
        if self.records is not None:
            self.records.append((f"{name}.pv", ly.p.decode(p_steps, p_pol), v_t, pv_acc))
        # window 3: the PV outputs fire; O integrates, read out

        def tokens_of(x):
            return None if x is None else x.transpose(1, 2).reshape(b, length, hidden)

        ctx_steps, ctx_pol = ly.pv_out.spikes(pv_acc, self.mode)
        ctx = tokens_of(ctx_steps), tokens_of(ctx_pol)
        if self.activity is not None:
            self.activity.population(ly.pv_out, ctx[0], valid, 3, ly.index, hidden, ctx[1])
        a = ly.out.potential(self.linear(ly.out, ctx, tok, ly.pv_out))
        h1 = _norm(ly.attn_norm, a + h, self.mask)
        # window 4: FFN input fires; FFN1 integrates; window 5: FFN2 input fires; FFN2 integrates
        spikes = self.fire(ly.ffn_in, h1, 4, ly.index, valid, ly.ffn1.fan_out)
        f_spikes = self.fire_out(ly.ffn1, self.linear(ly.ffn1, spikes, tok, ly.ffn_in), valid)
        f = ly.ffn2.potential(self.linear(ly.ffn2, f_spikes, tok, ly.ffn1.out))
        return _norm(ly.ffn_norm, f + h1, self.mask)

    def pooler(self, cls: torch.Tensor) -> torch.Tensor:
        net = self.net
        ones = torch.ones(cls.shape[0], dtype=torch.bool)
        spikes = self.fire(net.pooler_in, cls, 0, None, ones[:, None], net.pooler.fan_out)
        return net.pooler_act(net.pooler.potential(self.linear(net.pooler, spikes, ones, net.pooler_in)))


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
    from otters.models.sorbet_ops import BSPN

    return norm(x, token_mask) if isinstance(norm, BSPN) else norm(x)
