"""Sign-split TTFS (coding "split"): two sub-populations per signed activation, silence at zero, at most
one spike per neuron, and exact against the QNN in every simulator; zero is silent."""

import json

import pytest
import torch
from hypothesis import given, settings

from cli_helpers import run_main
from otters import convert, verify
from otters.energy.audit_adapter import SPIKE_BITS
from otters.models import build_student
from otters.snn.bert import verify_bert
from otters.snn.mttfs import configure_coding, model_coding
from otters.snn.mttfs.report import sparsity_report
from otters.snn.mttfs.stats import token_mask_fn
from otters.studies.sparsity import energy_per_inference, histogram_firing_stats
from snn_bert_helpers import calibrated, tiny_batch
from test_snn_exact import assert_lossless, assert_simulators_agree, curves, qmlps

torch.set_num_threads(1)


@settings(max_examples=40)
@given(case=qmlps(max_width=256, max_depth=5, max_bits=8), curve=curves())
def test_split_event_simulator_is_lossless_and_silent_at_zero(case, curve):
    qnn, x = case
    snn = convert(qnn, curve, coding="split")
    assert_lossless(verify(qnn, snn, x, simulator="event"))
    for pop in snn.populations().values():
        zero = 1 if pop.sign_mode else min(max(0, pop.qmin), pop.qmax)
        assert int(pop.silent) == zero  # a signed population is silent at zero, not at qmin


@settings(max_examples=20)
@given(case=qmlps(max_width=20, max_depth=3, max_bits=5), curve=curves(min_beta=0.45))
def test_split_tick_reference_is_lossless_and_agrees_with_event(case, curve):
    qnn, x = case
    snn = convert(qnn, curve, coding="split")
    assert_lossless(verify(qnn, snn, x, simulator="tick"))
    assert_simulators_agree(snn, x)


@pytest.mark.parametrize("preset", ["otters-1bitkv", "otters-4bitkv", "sorbet"])
@pytest.mark.parametrize("fire_mode", ["event", "threshold"])
def test_split_bert_is_exact(preset, fire_mode):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = calibrated(build_student(preset, "tiny"), tiny_batch(0))
    configure_coding(model, "split")
    assert model_coding(model) == "split"
    snn = convert(model)
    batch = tiny_batch(1)
    result = verify_bert(model, snn, **batch, fire_mode=fire_mode)
    assert result.exact, result.first_inexact
    assert result.max_spikes_per_neuron <= 1
    q = snn.layers[0].query.out.pop
    assert int(q.silent) == 0 and q.qmin < 0  # Q is signed: silent at 0, two sub-populations


def test_sparsity_reports_split_beside_offset_and_mttfs(capsys):
    code, out, _ = run_main(capsys, "sparsity", "--random-mlp", "--signed", "--json")
    assert code == 0
    overall = json.loads(out)["overall"]
    assert {"ttfs", "split", "mttfs", "dead_zone"} <= set(overall)
    assert overall["split"] > overall["ttfs"]  # zero-centred levels: zero is frequent, qmin is rare


def test_cli_verify_split(capsys):
    code, out, _ = run_main(capsys, "verify", "--random-mlp", "--signed", "--coding", "split", "--json")
    assert code == 0 and json.loads(out)["exact"] is True


def test_split_is_priced_silent_at_zero_not_at_the_mode():
    """The energy model charges split coding a spike for every non-zero level, even when another level
    is the most frequent one (where M-TTFS would put its silence)."""
    signed = {"qmin": -8, "qmax": 7, "silent": 2, "dead_zone_histograms": {0: [0] * 8 + [4, 2, 10, 3, 1, 0, 0, 0]}}
    split = histogram_firing_stats([signed], 0, centred=False, silent=0).signed4
    mttfs = histogram_firing_stats([signed], 0, centred=False).signed4
    assert split.silent_level == 0 and split.mttfs_fire(0) == pytest.approx(1 - 4 / 20)
    assert mttfs.silent_level == 2 and mttfs.mttfs_fire(0) == pytest.approx(1 - 10 / 20)
    assert split.mttfs_active_steps(4, 15) != mttfs.mttfs_active_steps(4, 15)


def test_energy_per_inference_prices_each_coding_on_the_same_sentences():
    """offset / split / M-TTFS, each run and audited on the same sentences: the masked codings spike less
    and pay a polarity bit per spike; the run's silent fraction agrees with the level histograms'."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = calibrated(build_student("otters-1bitkv", "tiny"), tiny_batch(0))
    batches, calib = [tiny_batch(1)], [tiny_batch(2)]
    rows = {r["coding"]: r for r in energy_per_inference(model, batches, calib)}
    assert list(rows) == ["ttfs", "split", "mttfs"]
    assert rows["ttfs"]["snn_coding"] == "ttfs" and rows["split"]["snn_coding"] == "mttfs"
    assert rows["split"]["spikes"] < rows["ttfs"]["spikes"] and rows["split"]["silent"] > rows["ttfs"]["silent"]
    assert all(r["total_mj"] > 0 and r["sentences"] == 5 for r in rows.values())
    report = sparsity_report(model, batches, lambda m, b: m(**b), dead_zones=[0], calibration=calib,
                             batch_mask=lambda b: token_mask_fn(b["attention_mask"]))
    overall = report.to_dict()["overall"]
    assert rows["split"]["silent"] == pytest.approx(overall["split"], abs=1e-9)
    assert rows["ttfs"]["silent"] == pytest.approx(overall["ttfs"], abs=1e-9)
    spikes_bits = {c: r["by_data"]["spikes"] for c, r in rows.items()}
    per_spike = {c: spikes_bits[c] / rows[c]["spikes"] for c in rows}
    assert per_spike["split"] == pytest.approx(per_spike["ttfs"] * (SPIKE_BITS + 1) / SPIKE_BITS, rel=1e-9)
