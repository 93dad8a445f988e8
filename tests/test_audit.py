"""Operation audit (otters.snn.audit, ``otters audit``): counts follow the measured activity under
each ADC placement, binary K/V leave no multiplication in the spiking path, digital blocks list theirs."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.errors import OttersError
from otters.models import build_student
from otters.snn.audit import COUNT_KEYS, AuditSettings, audit_activity, audit_model
from otters.snn.bert import BertActivity
from otters.snn.convert import convert
from snn_bert_helpers import calibrated, tiny_batch


def _model(preset, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_student(preset, "tiny")
    return calibrated(model, tiny_batch(seed))


def _rows(audit):
    return {r.block: r for r in audit.rows}


@pytest.mark.parametrize("preset", ["otters-1bitkv", "otters-4bitkv"])
def test_counts_follow_the_activity_under_each_adc_placement(preset):
    model = _model(preset)
    snn = convert(model)
    batch = tiny_batch(1)
    activity = BertActivity(column_rows=16)
    snn(**batch, activity=activity)
    for placement in ("synapse", "spike", "column"):
        audit = audit_activity(snn, activity, AuditSettings(adc_per=placement, column_rows=16))
        rows = _rows(audit)
        for stage in activity.stages.values():
            row = rows[stage.name].counts()
            if stage.kind == "linear":
                assert row["device_reads"] == (stage.spikes if placement == "spike" else stage.synaptic_events)
                if placement == "column":
                    assert row["adc"] == stage.column_active <= stage.synaptic_events
                    assert row["adds"] >= stage.column_active and row["subs"] == 0
                else:
                    assert row["adc"] == row["device_reads"]
                    assert row["adds"] + row["subs"] >= stage.synaptic_events
            else:  # attention products: one device read + conversion per Q / P spike
                assert row["device_reads"] == row["adc"] == stage.spikes
            assert row["spikes"] == 0 and row["compares"] == 0
        for pop in activity.populations.values():
            row = rows[pop.name].counts()
            assert row["spikes"] == pop.spikes and row["compares"] == pop.compares and row["mults"] == 0
        totals = audit.totals("spiking")
        assert totals["spikes"] == sum(p.spikes for p in activity.populations.values())
        assert set(totals) == set(COUNT_KEYS)


def test_binary_kv_spiking_path_has_no_multiplication_but_4bit_has_one_per_attention_event():
    one = audit_model(_model("otters-1bitkv"), **tiny_batch(2))
    assert one.totals("spiking")["mults"] == 0
    qk = _rows(one)["layers.0.attn.qk"]
    assert qk.counts()["adds"] > 0 and qk.counts()["subs"] > 0  # selective add / subtract by the stored sign
    model = _model("otters-4bitkv")
    snn = convert(model)
    activity = BertActivity()
    snn(**tiny_batch(2), activity=activity)
    four = audit_activity(snn, activity)
    attention_events = sum(s.events_other for s in activity.stages.values() if s.kind in ("qk", "pv"))
    assert attention_events > 0 and four.totals("spiking")["mults"] == attention_events


def test_digital_blocks_are_listed_apart_with_their_multiplications():
    audit = audit_model(_model("otters-1bitkv"), **tiny_batch(3))
    rows = _rows(audit)
    digital = [r for r in audit.rows if r.path == "digital"]
    assert {r.block for r in digital} >= {"embeddings", "layers.0.attn.softmax", "layers.0.attn_norm",
                                          "layers.1.ffn_norm", "pooler_readout+classifier"}
    assert all(r.counts()["spikes"] == r.counts()["device_reads"] == r.counts()["adc"] == 0 for r in digital)
    # what remains multiplicative: read-outs (acc x scale), BSPN's PowerNorm, LayerNorm, the classifier
    assert rows["layers.0.attn_norm"].counts()["mults"] > 0 and rows["embeddings"].counts()["mults"] > 0
    total = {k: sum(r.counts()[k] for r in digital) for k in COUNT_KEYS}
    assert total == audit.totals("digital")
    data = audit.to_dict()
    assert set(data["spiking"]) == set(COUNT_KEYS) == set(data["digital"])
    assert len(data["blocks"]) == len(audit.rows) and data["sentences"] == 5


def test_audit_rejects_mismatched_tiles():
    model = _model("otters-1bitkv")
    snn = convert(model)
    activity = BertActivity(column_rows=64)
    snn(**tiny_batch(0), activity=activity)
    with pytest.raises(OttersError, match="column tiles"):
        audit_activity(snn, activity, AuditSettings(column_rows=256))
    with pytest.raises(OttersError, match="adc_per"):
        AuditSettings(adc_per="row")


def test_cli_audit_tiny_json_and_fixed_length(capsys):
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-1bitkv", "--geometry", "tiny", "--json")
    data = json.loads(out)
    assert code == 0 and data["spiking"]["mults"] == 0 and data["input"]["sentences"] == 1
    assert all(set(COUNT_KEYS) <= set(row) for row in data["blocks"])
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-4bitkv", "--geometry", "tiny", "--seq-len", "20",
                           "--adc-per", "synapse", "--json")
    data = json.loads(out)
    assert code == 0 and data["tokens"] == 20 and data["spiking"]["mults"] > 0
    code, out, _ = run_main(capsys, "audit", "--preset", "sorbet", "--geometry", "tiny")
    assert code == 0 and "total spiking" in out and "pooler" in out
    code, _, err = run_main(capsys, "audit", "--preset", "bert-fp", "--geometry", "tiny")
    assert code == 2 and err.startswith("otters: error:") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_audit_minilm_otters_1bitkv_has_no_multiplication_in_the_spiking_path(capsys):
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-1bitkv", "--geometry", "minilm-l6", "--json")
    data = json.loads(out)
    assert code == 0 and data["model"]["geometry"] == "minilm-l6" and data["model"]["layers"] == 6
    assert data["spiking"]["mults"] == 0
    assert data["spiking"]["adds"] > 0 and data["spiking"]["device_reads"] > 0 and data["spiking"]["spikes"] > 0
    assert data["digital"]["mults"] > 0  # listed honestly: read-outs, PowerNorm, LayerNorm, classifier
