"""Whole-model spiking BERT (otters.snn.bert) on the tiny geometry: bit-exact logits, stored K/V
coding, device variation, measured activity against the QNN's own levels, refusals."""

import pytest
import torch

import otters
from otters.device import PAPER_CURVE, StretchedExponential
from otters.errors import OttersError
from otters.models import build_student, record_stages
from otters.snn import draw_variation
from otters.snn.bert import BertActivity, SpikingBert, verify_bert
from otters.snn.bert.activity import _active_steps
from otters.snn.convert import convert
from snn_bert_helpers import calibrated, distill_steps, tiny_batch

PRESETS = ("otters-1bitkv", "otters-4bitkv", "sorbet", "qnn-w1a4")


def _student(preset, trained, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_student(preset, "tiny")
        teacher = build_student("bert-fp", "tiny")
    batch = tiny_batch(seed)
    calibrated(model, batch)
    if trained:
        distill_steps(model, teacher, tiny_batch(seed + 100, rows=8), steps=3)
    return model, batch


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("trained", [False, True])
def test_tiny_student_logits_are_bit_exact_in_both_fire_modes(preset, trained):
    model, batch = _student(preset, trained)
    if trained:  # the distillation steps moved the steps off their power-of-two initialisation
        alphas = [float(m.alpha.detach()) for m in model.modules() if hasattr(m, "alpha")]
        assert any(abs(a - 2.0 ** round(torch.log2(torch.tensor(a)).item())) > 1e-6 for a in alphas)
    snn = otters.convert(model, StretchedExponential(5.0, 0.3, 0.7, -4.0))  # any monotone device curve works
    assert isinstance(snn, SpikingBert)
    with torch.no_grad():
        reference = model(**batch).logits
    for mode in ("event", "threshold"):
        assert torch.equal(snn(**batch, fire_mode=mode).logits, reference)
    result = verify_bert(model, snn, **batch, batch_size=2)
    assert result.exact and result.first_inexact is None and result.samples == batch["input_ids"].shape[0]
    names = [c.name for c in result.layers]
    assert names[-1] == "logits" and "layers.1.attn.qk:stored_kv" in names and "pooler:acc" in names


def test_binary_k_and_v_are_one_spike_or_silence():
    """1-bit K/V: sign neurons with T = 1, a spike at t_0 for +1 and silence for -1 (the stored bit)."""
    model, batch = _student("otters-1bitkv", False)
    snn = convert(model)
    layer = snn.layers[0]
    for stage in (layer.key, layer.value):
        pop = stage.out.pop
        assert pop.T == 1 and pop.sign_mode
        assert pop.decode(torch.tensor([0, 1])).tolist() == [1, -1]
    with record_stages(model) as records:
        model(**batch)
    k_levels = dict((r[0], r[2]) for r in records)["layers.0.attn.qk"]
    assert set(k_levels.unique().tolist()) <= {-1, 1}
    four = convert(_student("otters-4bitkv", False)[0])
    assert four.layers[0].key.out.pop.T == 15


def test_drawn_chip_is_lossy_and_named():
    model, batch = _student("otters-1bitkv", True)
    snn = convert(model)
    chip = draw_variation(PAPER_CURVE, 0.2, 0.2, 0.2, synapse_rel_std=0.2, seed=3)
    result = otters.verify(model, snn, batch, variation=chip)
    assert not result.exact and not result.nominal_device
    assert result.first_inexact.startswith("layers.0.attn.")
    assert otters.verify(model, snn, batch).exact  # the nominal chip is still exact afterwards


def test_activity_counts_the_qnn_levels_on_real_tokens():
    """Spikes and synaptic events measured by the SNN equal counts derived from the QNN's own levels."""
    model, batch = _student("otters-4bitkv", True)
    snn = convert(model)
    activity = BertActivity(column_rows=8)
    snn(**batch, activity=activity)
    with record_stages(model) as records:
        model(**batch)
    levels = {name: (lv, w) for name, lv, w, _ in records}
    mask = batch["attention_mask"].bool()
    tokens = int(mask.sum())
    assert activity.tokens == tokens and activity.sentences == mask.shape[0]
    q_in, _ = levels["layers.0.attn.query"]  # signed offset code: silent only at qmin
    qmin = model.bert.layers[0].attn.input_quant.qmin
    spikes = int((q_in[mask] != qmin).sum())
    stage = activity.stages["layers.0.attn.query"]
    assert stage.spikes == spikes and stage.synaptic_events == spikes * 32
    f_in, _ = levels["layers.0.ffn2"]  # unsigned post-ReLU levels: silent at 0
    assert activity.stages["layers.0.ffn2"].spikes == int((f_in[mask] != 0).sum())
    p_in, v_t = levels["layers.0.attn.pv"]
    pair = mask[:, None, :, None] & mask[:, None, None, :]
    pv = activity.stages["layers.0.attn.pv"]
    assert pv.spikes == int(((p_in != 0) & pair).sum())
    assert pv.synaptic_events == pv.spikes * v_t.shape[-2]
    pop = activity.populations["layers.0.ffn2_in_quant"]
    codes = f_in[mask]
    assert pop.compares == int(torch.clamp(15 - codes + 1, max=15).sum())  # steps 0..k, T when silent
    traces = activity.traces()
    assert all(0.0 <= t.firing_rate <= 1.0 for t in traces)


def test_active_steps_match_a_direct_count():
    gen = torch.Generator().manual_seed(0)
    steps = torch.randint(0, 16, (6, 21), generator=gen)  # T = 15: step 15 is silence
    rows = 8
    expected = 0
    for token in steps.tolist():
        for start in range(0, 21, rows):
            expected += len({k for k in token[start:start + rows] if k < 15})
    assert _active_steps(steps, 15, rows) == expected


def test_conversion_refusals_and_bad_inputs():
    with pytest.raises(OttersError, match="no spiking equivalent"):
        convert(build_student("bert-fp", "tiny"))
    gelu = build_student("qnn-w1a4", "tiny", hidden_act="gelu")
    with pytest.raises(OttersError, match="hidden_act"):
        convert(gelu)
    with pytest.raises(OttersError, match="never initialised"):
        convert(build_student("otters-1bitkv", "tiny"))  # no calibration forward yet
    model, batch = _student("otters-1bitkv", False)
    snn = convert(model)
    with pytest.raises(OttersError, match="token ids"):
        snn(torch.tensor([[1, 500]]))
    with pytest.raises(OttersError, match="fire mode"):
        snn(batch["input_ids"], fire_mode="tick")
    with pytest.raises(OttersError, match="event simulator"):
        otters.verify(model, snn, batch, simulator="tick")
