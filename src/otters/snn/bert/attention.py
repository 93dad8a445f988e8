"""The spiking self-attention: Q spikes against the stored K, P spikes against the stored V (1-bit or 4-bit K/V).

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 (1-bit KV, the attention dataflow) and
Proposition 1. Windows 1 to 3 of an encoder layer (``otters.snn.bert.model``):

1. the Q population fires and Q.K^T integrates with the stored K as synapses. The K and V
   populations fire in this window too and their spikes are *written* into the PE-local K/V
   storage of the attention cores (binary K/V preloaded, the TTFS query broadcast). 1-bit K/V
   (levels {-1, +1}, no zero) are sign neurons with T = 1: one spike at t_0 for +1, silence for
   -1, so the stored bit is "did it spike"; 4-bit K/V are decoded from the spike step into a level;
2. (digital between windows) the scores are read out and PTsoftmax (or softmax) gives P; the P
   population fires; P.V integrates with the stored V;
3. the PV output population fires (its spikes feed the O stage).

A Q or P spike at step k drives the device once; its ADC reading a_k is added to every synapse it
reaches with the sign of the stored bit (1-bit K/V: a selective addition or subtraction, no
multiplication; ``accumulate_spikes`` with +-1 weights) or multiplied by the stored level (4-bit).
On the nominal chip the accumulator equals levels_in @ stored^T exactly, the QNN's own integers.
"""

from __future__ import annotations

import torch

from otters.models.sorbet_ops import pt_softmax
from otters.quant import potential_from_accumulator
from otters.snn.neuron import FiringPopulation
from otters.snn.synapse import accumulate_spikes, masked_accumulate, silent_correction
from otters.snn.tables import DeviceTables


def attention_product(steps: torch.Tensor, pop: FiringPopulation, weight_levels: torch.Tensor, max_level: int,
                      tables: DeviceTables, polarity: torch.Tensor | None = None) -> torch.Tensor:
    """Accumulator of Q.K^T or P.V from the input spikes and the stored K / V levels.

    ``steps`` (..., rows, in) spike steps of Q (in = head dim) or P (in = keys); ``weight_levels``
    (..., out, in) the stored K levels, or V levels transposed; one device read per input spike,
    then a selective add / subtract (binary K/V) or a multiply-add (4-bit) per synapse.
    Equals levels_in @ weight_levels^T exactly on the nominal chip. With ``polarity`` (an M-TTFS
    input) the readings are signed and m * sum_i w_i (one integer per stored key / value row) is added back.
    """
    readings = tables.lut(pop.T)[steps]
    weight = weight_levels.to(torch.float32)
    if polarity is not None:
        return masked_accumulate(readings * polarity.to(readings.dtype), weight,
                                 silent_correction(weight_levels, pop.silent), pop.code_scale,
                                 tables.resolution(pop.T), max_reading=tables.max_reading(pop.T),
                                 max_row_abs=float(max_level * weight.shape[-1]), max_silent=int(pop.silent.abs().max()))
    row_sum = weight.sum(dim=-1)  # integers, exact
    return accumulate_spikes(readings, weight, row_sum, pop.code_scale, pop.code_offset, tables.resolution(pop.T),
                             max_reading=tables.max_reading(pop.T), max_row_abs=float(max_level * weight.shape[-1]))


def spiking_attention(ly, q_acc: torch.Tensor, k_acc: torch.Tensor, v_acc: torch.Tensor, run):
    """Windows 1-3 of encoder layer ``ly`` (a SpikingLayer): from the Q, K, V accumulators of window 0
    to the (steps, polarity) of the PV output population in token layout (B, L, hidden).

    ``run`` is the forward pass (``otters.snn.bert.model``): device tables, fire mode, token mask,
    ``fire`` (fire a population and report it) and ``watch`` (the observer of the pass).
    """
    b, length, hidden = q_acc.shape
    heads, d = ly.heads, hidden // ly.heads
    tok = run.mask.bool()
    valid = tok[:, :, None]
    kv_max = 2 ** max(ly.kv_bits - 1, 0)

    def heads_of(x):  # (B, L, H*d) -> (B, H, L, d)
        return None if x is None else x.view(b, length, heads, d).transpose(1, 2)

    def tokens_of(x):  # (B, H, L, d) -> (B, L, H*d)
        return None if x is None else x.transpose(1, 2).reshape(b, length, hidden)

    # window 1: Q fires into Q.K^T; K and V fire into the PE-local K/V storage
    q_fire, k_fire, v_fire = ly.query.out, ly.key.out, ly.value.out
    q_spikes, k_spikes, v_spikes = (run.fire(f, acc, 1, ly.index, valid)
                                    for f, acc in ((q_fire, q_acc), (k_fire, k_acc), (v_fire, v_acc)))
    q_steps, q_pol = heads_of(q_spikes[0]), heads_of(q_spikes[1])
    k_levels, v_levels = heads_of(k_fire.decode(*k_spikes)), heads_of(v_fire.decode(*v_spikes))
    qk_acc = attention_product(q_steps, q_fire.pop, k_levels, kv_max, run.tables, q_pol)
    name = f"layers.{ly.index}.attn"
    run.watch.attention("qk", f"{name}.qk", 1, ly.index, q_fire, (q_steps, q_pol), k_levels, qk_acc, run.mask,
                        ly.kv_bits == 1)
    # digital: scores read out, (PT)softmax
    scores = potential_from_accumulator(qk_acc, ly.qk_scale, q_fire.pop.alpha)
    if run.softmax == "ptsoftmax":
        probs = pt_softmax(scores, run.key_mask)
    else:
        probs = torch.softmax(scores + run.attn_bias, dim=-1)
    # window 2: P fires into P.V
    pair = tok[:, None, :, None] & tok[:, None, None, :]
    p_steps, p_pol = run.fire(ly.p, probs, 2, ly.index, pair, d)
    pv_acc = attention_product(p_steps, ly.p.pop, v_levels.transpose(-1, -2), kv_max, run.tables, p_pol)
    run.watch.attention("pv", f"{name}.pv", 2, ly.index, ly.p, (p_steps, p_pol), v_levels, pv_acc, run.mask,
                        ly.kv_bits == 1)
    # window 3: the PV outputs fire (into the O stage)
    ctx_steps, ctx_pol = ly.pv_out.spikes(pv_acc, run.mode)
    ctx = tokens_of(ctx_steps), tokens_of(ctx_pol)
    run.watch.fired(ly.pv_out, ctx, valid, 3, ly.index, hidden)
    return ctx
