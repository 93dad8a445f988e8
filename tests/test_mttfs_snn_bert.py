"""Whole-model M-TTFS in the spiking BERT (otters.snn.mttfs.bert), tiny geometry: the SNN equals the
(dead-zone) QNN bit for bit, fires at most once per neuron, and its measured silent ratio is the one
``otters sparsity`` computes from the QNN's levels."""

import pytest
import torch

import otters
from otters.device import PAPER_CURVE
from otters.errors import OttersError
from otters.models import build_student
from otters.snn import draw_variation
from otters.snn.audit import audit_model
from otters.snn.bert import BertActivity, SpikingBert, verify_bert
from otters.snn.convert import convert
from otters.snn.mttfs import calibrate_silent, configure_coding, kv_names, population_names
from otters.snn.mttfs.bert import MaskedFiring, silent_ratios
from otters.snn.mttfs.report import sparsity_report
from otters.snn.mttfs.stats import token_mask_fn
from snn_bert_helpers import calibrated, distill_steps, tiny_batch

torch.set_num_threads(1)


def _student(preset="otters-1bitkv", seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_student(preset, "tiny")
        teacher = build_student("bert-fp", "tiny")
    calibrated(model, tiny_batch(seed))
    distill_steps(model, teacher, tiny_batch(seed + 100, rows=8), steps=3)
    return model


def _logits(model, batch):
    with torch.no_grad():
        return model(**batch).logits


def _coded(preset, dead_zone):
    """(QNN, its M-TTFS SNN, measurement batch, calibration batch): k = 0 calibrates at conversion,
    k > 0 configures the dead zone around the calibrated levels first (the QNN becomes the dead-zone QNN)."""
    model, batch, calibration = _student(preset), tiny_batch(0), tiny_batch(7, rows=8)
    if dead_zone == 0:
        return model, convert(model, coding="mttfs", calibration=calibration), batch, calibration
    configure_coding(model, "mttfs", dead_zone, silent=calibrate_silent(model, calibration))
    return model, convert(model), batch, calibration


@pytest.mark.parametrize("preset", ["otters-1bitkv", "otters-4bitkv"])
@pytest.mark.parametrize("dead_zone", [0, 2])
def test_mttfs_spiking_bert_equals_its_qnn_bit_for_bit(preset, dead_zone):
    plain = _logits(_student(preset), tiny_batch(0))
    model, snn, batch, _ = _coded(preset, dead_zone)
    assert snn.coding == "mttfs"
    firings = [ly.input for ly in snn.layers] + [ly.key.out for ly in snn.layers] + [snn.pooler_in]
    assert all(isinstance(f, MaskedFiring) for f in firings)
    assert any(int(f.pop.silent) != f.pop.qmin for f in firings)  # not plain TTFS
    reference = _logits(model, batch)
    assert torch.equal(reference, plain) == (dead_zone == 0)  # the dead zone is lossy, M-TTFS alone is not
    for mode in ("event", "threshold"):
        assert torch.equal(snn(**batch, fire_mode=mode).logits, reference)
    result = verify_bert(model, snn, **batch, batch_size=2)
    assert result.exact, result.first_inexact
    assert result.max_spikes_per_neuron <= 1
    assert "layers.1.attn.pv:stored_kv" in [c.name for c in result.layers]


def test_both_fire_modes_give_the_same_spikes_and_one_per_neuron():
    model, snn, batch, _ = _coded("otters-4bitkv", 1)
    x = torch.randn(3, 5, model.config.hidden_size) * 2
    for firing in (snn.layers[0].input, snn.layers[1].ffn_in):
        steps, polarity = firing.spikes(x, "event")
        t_steps, t_pol = firing.spikes(x, "threshold")
        assert torch.equal(steps, t_steps) and torch.equal(polarity, t_pol)
        assert set(polarity.unique().tolist()) <= {-1, 0, 1} and torch.equal(polarity == 0, steps == firing.T)
        assert bool(((steps >= 0) & (steps <= firing.T)).all())
        assert torch.equal(firing.decode(steps, polarity), firing.pop.levels(x))


@pytest.mark.parametrize("dead_zone", [0, 2])
def test_silent_ratio_of_the_snn_run_is_the_one_sparsity_computes(dead_zone):
    model, snn, batch, calibration = _coded("otters-1bitkv", dead_zone)
    activity = BertActivity()
    snn(**batch, activity=activity)
    measured = silent_ratios(activity)
    report = sparsity_report(model, [batch], lambda m, b: m(**b), calibration=[calibration],
                             batch_mask=lambda b: token_mask_fn(b["attention_mask"]))
    assert [p.name for p in report.populations] == list(measured["populations"])
    for p in report.populations:
        got = measured["populations"][p.name]
        assert got["neurons"] == p.neurons
        assert got["neurons"] - got["spikes"] == p.histogram[p.silent - p.qmin]  # silent neurons, counted exactly
        spiking = activity.populations[p.name.removeprefix("bert.")]
        deviations = spiking.deviation_histogram()  # the SNN's spikes (step, polarity) as q - m, q = qmin..qmax
        T = spiking.T
        assert [deviations[T + q - p.silent] for q in range(p.qmin, p.qmax + 1)] == p.histogram
    assert measured["overall"] == pytest.approx(report.overall()["mttfs"], abs=1e-12)
    assert measured["overall"] > report.overall()["ttfs"]
    if dead_zone == 0:  # the same student under plain TTFS: silent = qmin, as sparsity's TTFS column
        plain = BertActivity()
        convert(model, coding="ttfs")(**batch, activity=plain)
        assert silent_ratios(plain)["overall"] == pytest.approx(report.overall()["ttfs"], abs=1e-12)


def test_top_level_convert_and_verify_take_the_coding():
    model, calibration, batch = _student(), tiny_batch(7, rows=8), tiny_batch(0)
    snn = otters.convert(model, coding="mttfs", calibration=calibration)
    assert isinstance(snn, SpikingBert) and snn.coding == "mttfs"
    assert otters.verify(model, snn, batch).exact
    assert otters.convert(model).coding == "ttfs"  # never configured: plain TTFS
    configure_coding(model, "mttfs", 0, silent=calibrate_silent(model, calibration))
    assert otters.convert(model).coding == "mttfs"  # the configured silent levels, no calibration needed
    assert set(kv_names(model)) <= {n for n, m in model.named_modules() if hasattr(m, "silent")}


def test_refusals_and_a_lossy_chip():
    model = _student()
    with pytest.raises(OttersError, match="calibration"):
        convert(model, coding="mttfs")
    with pytest.raises(OttersError, match="coding"):
        convert(model, coding="rate")
    name = population_names(model)[0]
    with pytest.raises(OttersError, match="per layer"):
        convert(model, coding="mttfs", calibration=tiny_batch(7), silent={name: torch.zeros(32, dtype=torch.int64)})
    model, snn, batch, _ = _coded("otters-1bitkv", 2)
    chip = draw_variation(PAPER_CURVE, 0.2, 0.2, 0.2, synapse_rel_std=0.2, seed=3)
    assert not verify_bert(model, snn, **batch, variation=chip).exact


def test_audit_of_an_mttfs_student_counts_both_polarities():
    model, snn, batch, _ = _coded("otters-1bitkv", 0)
    audit = audit_model(model, **batch, snn=snn).to_dict()
    plain = audit_model(model, **batch, snn=convert(model, coding="ttfs")).to_dict()
    assert audit["spiking"]["mults"] == 0 and plain["spiking"]["mults"] == 0
    assert audit["spiking"]["spikes"] < plain["spiking"]["spikes"]  # M-TTFS silences the most frequent level
    rows = {r["block"]: r for r in audit["blocks"]}
    qkv = rows["layers.0.attn.query"]
    assert qkv["synaptic_events"] == qkv["input_spikes"] * qkv["fan_out"]


def test_verify_cli_configures_a_preset_with_mttfs_and_a_dead_zone(capsys):
    import json

    from otters.cli.app import main

    main(["verify", "--preset", "otters-4bitkv", "--geometry", "tiny", "--random-init", "--coding", "mttfs",
          "--dead-zone", "2", "--batch", "4", "--max-len", "16", "--simulator", "threshold", "--json"])
    out = json.loads(capsys.readouterr().out)  # exit status 1 (inexact) would have raised SystemExit
    assert out["exact"] and out["max_spikes_per_neuron"] <= 1
    assert (out["model"]["coding"], out["model"]["snn_coding"], out["model"]["dead_zone"]) == ("mttfs", "mttfs", 2)
