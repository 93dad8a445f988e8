"""Operation counts of every architecture against hand counts on a tiny model.

Tiny model: 1 layer, hidden d = 4, 2 heads (d_h = 2), FFN f = 8, seq L = 3. Populations are chosen
so that the hand counts are short:
  signed4:  q = -8 or +2, each 1/2  -> nonzero 1, E|q| = 5, TTFS fires 1/2 (c = 0 or 10)
  unsigned4: q = 0 or 3, each 1/2   -> nonzero 1/2, E|q| = 1.5, TTFS fires 1/2
  bispike_signed (-4..4): q = 0 or 2, each 1/2 -> E|q| = 1
  bispike_unsigned (0..4): q = 0 (3/4) or 4 (1/4) -> E|q| = 1
"""

import pytest

from otters.energy import Hardware, build_workloads, energy_from_counts, evaluate, load_table, workload_from_counts
from otters.energy.op_counts import Geometry, acc_bits
from otters.energy.stats import FiringStats, Population
from otters.errors import OttersError

TINY = Geometry("tiny", layers=1, hidden=4, heads=2, ffn=8)


def _pop(qmin, qmax, mass):
    probs = [0.0] * (qmax - qmin + 1)
    for q, p in mass.items():
        probs[q - qmin] = p
    return Population(qmin, qmax, tuple(probs))


STATS = FiringStats(
    _pop(-8, 7, {-8: 0.5, 2: 0.5}),
    _pop(0, 15, {0: 0.5, 3: 0.5}),
    _pop(-4, 4, {0: 0.5, 2: 0.5}),
    _pop(0, 4, {0: 0.75, 4: 0.25}),
)


def stages(model, **hw):
    ws = build_workloads(model, TINY, 3, Hardware(**hw), STATS)
    return {w.name: w for w in ws}


def test_population_hand_values():
    s = STATS.signed4
    assert s.mean_abs_level == pytest.approx(5.0)
    assert s.nonzero == pytest.approx(1.0)
    assert s.ttfs_fire == pytest.approx(0.5)
    # silent neurons check all 15 steps; code 10 fires at k = 5 after 6 checks
    assert s.ttfs_compares(15) == pytest.approx(0.5 * 15 + 0.5 * 6)
    # 4 inputs, spikes only at k = 5 with p = 1/2: 1 - (1/2)^4 active steps
    assert s.ttfs_active_steps(4, 15) == pytest.approx(0.9375)


def test_accumulator_width():
    assert acc_bits(8, 4) == 8  # 32 -> 6 bits + sign = 7 -> one byte
    assert acc_bits(240, 768) == 24  # 184320 -> 18 bits + sign


def test_bert_counts():
    w = stages("bert")
    # qkv: 3 tokens x 4 in x 12 out = 144 MACs, + 36 bias adds
    assert w["qkv"].mults == {"fp32": 144}
    assert w["qkv"].adds == {"fp32": 180}
    assert w["qkv"].moved["weights"] == {"local": 144 * 32}  # per-use reads; 4096 weight bits fit on chip
    assert w["scores"].mults == {"fp32": 36} and w["context"].adds == {"fp32": 36}  # L^2 d
    # softmax over 18 scores, 6 rows: scale 18 + exp 72 + normalise 18 + reciprocal 24
    assert w["softmax"].mults == {"fp32": 132}
    assert w["softmax"].adds == {"fp32": 90}
    assert w["softmax"].subs == {"fp32": 18 + 12}
    # ffn1: 96 MACs + 24 bias adds + GELU on 24 values (10 mult, 6 add each)
    assert w["ffn1"].mults == {"fp32": 96 + 240}
    assert w["ffn1"].adds == {"fp32": 96 + 24 + 144}
    # norm: residual 12 adds + per token (3d + 2) adds, (d + 2) subs, (3d + 6) mults
    assert w["norm1"].adds == {"fp32": 12 + 42}
    assert w["norm1"].subs == {"fp32": 18}
    assert w["norm1"].mults == {"fp32": 54}


def test_qnn_counts():
    w = stages("qnn-bert")
    # qkv: 144 synaptic ops (all inputs non-zero), +-1 weights -> 72 adds, 72 subs at int8
    assert w["qkv"].adds == {"int8": 72, "fp32": 36 + 36}  # potential bias + quantizer rounding
    assert w["qkv"].subs == {"int8": 72}
    assert w["qkv"].mults == {"fp32": 72}
    assert w["qkv"].compares == {"int8": 72}
    assert w["qkv"].moved["weights"]["local"] == 144  # 1-bit weights
    assert w["scores"].mults == {"int4x4": 36}
    assert w["context"].mults == {"int4x4": 18, "fp32": 24}  # half of P is zero; 12 outputs: potential + quantizer
    assert w["ffn2"].adds["int8"] + w["ffn2"].subs["int8"] == 48  # 3 x 8 x 4 x 1/2; 15 x 8 -> int8
    assert w["ffn2"].moved["activations"]["global"] == 3 * 8 * 4 + 3 * 4 * 32  # read 4-bit in, write fp32 out


def test_sorbet_counts():
    w = stages("sorbet")
    q = w["qkv"]
    # 60 input spikes (12 neurons x 5), fan-out 12 -> 720 accumulates; 36 IF neurons x 16 steps
    assert q.adds == {"int8": 360 + 576}
    assert q.subs == {"int8": 360 + 180}  # accumulates + one reset per output spike (36 x 5)
    assert q.compares == {"int8": 576}
    assert q.moved["state"]["local"] == 576 * 2 * 8
    assert q.spikes == 180
    # spike messages: in 60 x (4 address + 4 time + 1 sign), out 180 x (6 + 4 + 1)
    assert q.moved["spikes"]["global"] == 60 * 9 + 180 * 11


def test_spikelm_counts():
    w = stages("spikelm")
    q = w["qkv"]
    # 12 spikes (E|q| = 1) x 12 fan-out = 144 accumulates at int8; 36 IF neurons x 4 steps
    assert q.adds == {"int8": 72 + 144}
    assert q.subs == {"int8": 72 + 36}
    assert q.compares == {"int8": 144}
    assert w["softmax"].mults["fp32"] == 132  # fp32 softmax as BERT's
    w32 = stages("spikelm-w32")
    assert w32["qkv"].adds["fp32"] == 144  # fp32 weights: each spike adds a full weight
    assert w32["qkv"].moved["weights"]["local"] == 144 * 32


def test_otters_counts_column_and_synapse():
    w = stages("otters-1bitkv")
    q = w["qkv"]
    # 6 spikes (12 x 1/2) drive 72 devices; one 4-bit column reading per output per active step
    assert q.device_reads == 72
    assert q.adc == {4: pytest.approx(36 * 0.9375)}
    assert q.mults == {"int4x4": pytest.approx(33.75), "fp32": 36 + 12}  # potential (3 x 12 outputs) + u of Q (3 x 4)
    assert "weights" not in q.moved  # weights live in the devices
    assert q.moved["kv"]["local"] == 12 + 12  # K and V signs of 3 tokens x 4 channels
    syn = stages("otters-1bitkv", adc_per="synapse")["qkv"]
    assert syn.device_reads == 72 and syn.adc == {8: 72}
    assert syn.adds["int16"] == 72  # 240 x 4 -> 11 bits -> int16
    spk = stages("otters-1bitkv", adc_per="spike")["qkv"]
    assert spk.device_reads == 6 and spk.adc == {8: 6}
    assert spk.moved["weights"]["local"] == 72


def test_otters_kv_bits():
    one, four = stages("otters-1bitkv"), stages("otters-4bitkv")
    # scores: 6 Q spikes x 3 keys = 18 ops; context: 9 P spikes (18 x 1/2) x d_h 2 = 18 ops
    assert one["scores"].mults == {}  # binary K: selective add / sub, no multiply
    assert four["scores"].mults == {"int8x4": 18}
    assert four["context"].mults["int8x4"] == 18
    assert one["scores"].moved["kv"]["local"] == 18 and four["scores"].moved["kv"]["local"] == 72
    assert one["scores"].device_reads == 6 and one["context"].device_reads == 9


def test_matterhorn_counts():
    stats = FiringStats(
        _pop(-8, 7, {-1: 0.25, 0: 0.5, 2: 0.25}), STATS.unsigned4, STATS.bispike_signed, STATS.bispike_unsigned
    )
    w = {x.name: x for x in build_workloads("matterhorn", TINY, 3, Hardware(), stats)}
    q = w["qkv"]
    # M-TTFS: level 0 (the mode) is silent -> 12 x 1/2 = 6 spikes; 12 outputs x 2 cells fit one 256-column tile
    assert q.xbar_rows == 6
    assert q.xbar_cells == 6 * 12 * 2
    # one conversion per output per token per window, exact width ceil(log2(2 x 4 x 15 + 1)) = 7 bits
    assert q.adc == {7: 36}
    assert "weights" not in q.moved


def test_offchip_weights_stream_from_dram():
    big = Geometry("big", layers=1, hidden=4, heads=2, ffn=8)
    ws = build_workloads("bert", big, 3, Hardware(onchip_weight_mb=1e-6), STATS)
    qkv = ws[0]
    assert qkv.moved["weights"]["dram"] == 48 * 32
    per_token = build_workloads("bert", big, 3, Hardware(onchip_weight_mb=1e-6, dram_weight_passes="per_token"), STATS)
    assert per_token[0].moved["weights"]["dram"] == 3 * 48 * 32


def test_counts_adapter_and_energy_equation():
    table = load_table("45nm")
    counts = {"ffn1": {"adds": 1000, "subs": {"int8": 10}, "adc": 10, "device_reads": 4, "spikes": 5, "part": "FC"}}
    rep = energy_from_counts(counts, table, Hardware(noc_hops=2), spike_bits=20)
    # 1000 int16 adds x 0.05 + 10 int8 subs x 0.03 + 10 x 8-bit ADC (0.005 x 256) + 4 x 0.01 device reads
    expect = 1000 * 0.05 + 10 * 0.03 + 10 * 1.28 + 4 * 0.01
    # spikes: 5 x 20 bits written+read in the 1 MB global SRAM (100 pJ / 64 b) and 2 hops at 0.2 pJ/bit
    expect += 5 * 20 * 2 * 100 / 64 + 5 * 20 * 2 * 0.2
    assert rep.total_mj * 1e9 == pytest.approx(expect)
    assert rep.parts()["analog"] * 1e9 == pytest.approx(10 * 1.28 + 0.04)


def test_bad_counts_are_one_clear_error():
    with pytest.raises(OttersError, match="unknown keys"):
        workload_from_counts("x", {"flops": 3})
    with pytest.raises(OttersError, match=">= 0"):
        workload_from_counts("x", {"adds": -1})
    with pytest.raises(OttersError, match="part"):
        workload_from_counts("x", {"adds": 1, "part": "ffn"})
    with pytest.raises(OttersError, match="seq_len"):
        build_workloads("bert", TINY, 0)
    with pytest.raises(OttersError, match="unknown architecture"):
        build_workloads("gpt", TINY, 3)


def test_workload_round_trip():
    ws = build_workloads("otters-1bitkv", TINY, 3, Hardware(), STATS)
    back = [type(w).from_dict(w.to_dict()) for w in ws]
    assert evaluate(back, "22nm").total_mj == pytest.approx(evaluate(ws, "22nm").total_mj)
