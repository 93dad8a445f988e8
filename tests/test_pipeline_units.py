"""Pieces of ``otters run``: profiles, the run record, spike recording for the report."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.models import build_student
from otters.pipeline import RunState, get_profile
from otters.pipeline.spikes import layer_histograms, layer_of, population_kind, record_sentence
from otters.report.record import from_json, to_json
from otters.report.results import (
    CodingEnergy,
    Command,
    DegradationPointResult,
    DegradationSummary,
    RobustnessResult,
    SparsitySummary,
)
from otters.snn.bert import BertActivity
from otters.snn.convert import convert
from snn_bert_helpers import calibrated, tiny_batch

torch.set_num_threads(1)


def test_profile_overrides_merge_and_unknown_names_fail():
    p = get_profile("quick", distill={"max_steps": 3}, eval_rows=7, hat=[0.1])
    assert p.distill["max_steps"] == 3 and p.distill["batch_size"] == get_profile("quick").distill["batch_size"]
    assert p.eval_rows == 7 and p.hat == (0.1,)
    assert get_profile("quick").distill["max_steps"] != 3  # the registry is not modified
    with pytest.raises(OttersError, match="unknown profile"):
        get_profile("medium")
    with pytest.raises(OttersError, match="distill setting"):
        get_profile("quick", distill={"max_stpes": 3})
    full = get_profile("full")
    assert full.hat == (0.2,) and full.distill["stages"] == "staged"


def test_run_state_is_atomic_json_and_refuses_reuse_and_changed_settings(tmp_path):
    state = RunState.create(tmp_path / "r", {"task": "rt", "seed": 0, "profile": {"name": "quick"}})
    state.finish("device", {"value": (1, 2)}, 1.234)
    data = json.loads((tmp_path / "r" / "run.json").read_text())
    assert data["steps"]["device"]["result"] == {"value": [1, 2]} and data["steps"]["device"]["wall_s"] == 1.23
    loaded = RunState.load(tmp_path / "r")
    assert loaded.done("device") and not loaded.done("teacher")
    with pytest.raises(OttersError, match="--resume"):
        RunState.create(tmp_path / "r", {})
    with pytest.raises(OttersError, match="seed"):
        loaded.check_settings({"task": "rt", "seed": 1, "profile": {"name": "quick"}})
    loaded.check_settings({"task": "rt", "seed": 0, "profile": {"name": "quick"}})
    with pytest.raises(OttersError, match="has not run yet"):
        loaded.result("teacher")


@pytest.fixture(scope="module")
def snn():
    torch.manual_seed(0)
    model = calibrated(build_student("otters-1bitkv", "tiny"), tiny_batch())
    return convert(model)


@settings(max_examples=5)
@given(length=st.integers(2, 12), seed=st.integers(0, 1000), neurons=st.integers(1, 64))
def test_record_sentence_agrees_with_the_activity_counts(snn, length, seed, neurons):
    ids = torch.randint(1, 128, (1, length), generator=torch.Generator().manual_seed(seed))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    raster = record_sentence(snn, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], neurons, seed)
    reference = BertActivity()
    snn(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], activity=reference)
    assert [p["name"] for p in raster["populations"]] == list(reference.populations)
    for pop in raster["populations"]:
        ref = reference.populations[pop["name"]]
        assert pop["neurons"] == ref.neurons and pop["spikes"] == ref.spikes
        steps = np.asarray(pop["sample_steps"])
        assert steps.size == min(neurons, ref.neurons) and steps.min() >= 0 and steps.max() <= pop["T"]
        layer = layer_of(pop["name"])
        assert pop["slot"] == (6 * raster["layers"] if layer is None else 6 * layer + pop["window"])
    assert raster["tokens"] == length


def test_layer_histograms_group_traces_by_layer_and_kind(snn):
    batch = tiny_batch(3)
    activity = BertActivity()
    snn(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], activity=activity)
    traces = [t.to_dict() for t in activity.traces()]
    hist = layer_histograms(traces)
    assert set(hist) == {f"layer {i}" for i in range(len(snn.layers))} | {"pooler"}
    assert sum(sum(r["histogram"]) for layer in hist.values() for r in layer.values()) == sum(t["spikes"] for t in traces)
    assert population_kind("layers.0.attn.p_quant") == "p" and population_kind("pooler_quant") == "pooler_in"
    with pytest.raises(ValueError):
        record_sentence(snn, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])


@pytest.mark.parametrize("rows, said", [(None, "saw all training rows"), (64, "saw 64 rows")])
def test_quick_profile_note_names_the_teachers_rows(rows, said):
    from dataclasses import asdict

    from otters.report import build_summary

    profile = asdict(get_profile("quick", teacher={"max_train_rows": rows}))
    summary = build_summary("run", {"profile": profile, "task": "rt", "seed": 0}, {}, {})
    (note,) = [n for n in summary.notes if n.startswith("quick is a smoke profile")]
    assert said in note and "None" not in note


def test_codings_and_degradation_round_trip_and_older_records_read():
    """The energy step's per-coding rows and the robustness step's degradation survive run.json; records
    written before they existed read back with their defaults."""
    coding = CodingEnergy(coding="split", label="sign-split TTFS", silent=0.5, silent_measured=0.5, total_mj=1e-4,
                          parts={"analog": 5e-5}, spikes=10.0, device_reads=20.0, conversions=3.0, default=False)
    assert from_json(CodingEnergy, to_json(coding)) == coding
    summary = SparsitySummary(samples=4, split="test", calibration_samples=4, neurons=10, ttfs=0.1, mttfs=0.4,
                              sign_split=0.3)
    assert from_json(SparsitySummary, to_json(summary)) == summary
    old = {k: v for k, v in to_json(summary).items() if k != "sign_split"}
    assert from_json(SparsitySummary, old).sign_split is None
    point = DegradationPointResult(parameter="dt", label="2x", multiple=2.0, value=5e-8, accuracy=0.75,
                                   agreement=0.98, exact_sentences=3, exact=False, wrong_codes=1, max_code_error=0.0625)
    robustness = RobustnessResult(
        metric="accuracy", rows=8, levels=[0.0], kinds=["output"], draws=1, checkpoints={}, files={},
        degradation=DegradationSummary(sentences=8, split="test", closed_form=0.75, bounds={"min_adc_bits": 4},
                                       points=[point], files={"figure": "degradation.png"},
                                       command=Command("what", "otters degrade CKPT")))
    assert from_json(RobustnessResult, to_json(robustness)) == robustness
    older = {k: v for k, v in to_json(robustness).items() if k != "degradation"}
    assert from_json(RobustnessResult, older).degradation is None
