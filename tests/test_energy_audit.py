"""Energy from measured audits (otters.energy.audit_adapter, ``otters energy CKPT --task T``): the
counts handed to the energy model are the audit's, per inference."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.energy import Hardware
from otters.energy.audit_adapter import counts_from_audit, energy_from_audit, measure_energy
from otters.errors import OttersError
from otters.models import build_student, save_student
from otters.snn.audit import OP_KINDS, AuditSettings, audit_model
from snn_bert_helpers import calibrated, tiny_batch


def _model(preset="otters-1bitkv"):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_student(preset, "tiny")
    return calibrated(model, tiny_batch(0))


@pytest.mark.parametrize("adc_per", ["column", "synapse"])
def test_workloads_priced_are_the_audit_counts_per_inference(adc_per):
    batch = tiny_batch(4)
    report, audit = measure_energy(_model(), **batch, hw=Hardware(adc_per=adc_per))
    n = audit.sentences
    assert n == 5 and report.total_mj > 0
    workloads = {w.name: w for w in report.workloads}
    assert set(workloads) == {r.block for r in audit.rows}
    for row in audit.rows:
        w = workloads[row.block]
        assert w.part == row.part
        for kind in OP_KINDS:
            assert getattr(w, kind) == pytest.approx({d: c / n for d, c in row.ops.get(kind, {}).items()})
        assert w.device_reads == pytest.approx(row.device_reads / n)
        assert w.adc == pytest.approx({b: c / n for b, c in row.adc.items()})
        assert w.spikes == pytest.approx(row.spikes / n)
    parts = report.parts()
    assert sum(parts.values()) == pytest.approx(report.total_mj)
    assert parts["analog"] > 0 and parts["data_movement"] > 0


def test_more_text_costs_more_and_settings_must_match():
    model = _model()
    short = audit_model(model, **{k: v[:, :4] for k, v in tiny_batch(5).items()})
    long = audit_model(model, **tiny_batch(5))
    assert energy_from_audit(long).total_mj > energy_from_audit(short).total_mj
    counts = counts_from_audit(long)
    assert counts["layers.0.attn.qk"]["moved"]["kv"]["local"] > 0  # stored K read per synaptic event
    synapse = audit_model(model, **tiny_batch(5), settings=AuditSettings(adc_per="synapse"))
    with pytest.raises(OttersError, match="ADC placement"):
        energy_from_audit(synapse, hw=Hardware(adc_per="column"))


def test_cli_energy_of_a_checkpoint_on_task_sentences(capsys, tmp_path):
    path = save_student(_model(), tmp_path / "student")
    code, out, _ = run_main(capsys, "energy", str(path), "--task", "rt", "--sentences", "3", "--json")
    data = json.loads(out)
    assert code == 0 and data["input"]["sentences"] == 3 and data["total_mj"] > 0
    assert data["audit"]["spiking"]["mults"] == 0
    assert set(data["parts"]) == {"FC", "QKV", "attention", "norms", "data_movement", "analog"}
    code, out, _ = run_main(capsys, "energy", str(path), "--task", "rt", "--sentences", "2", "--adc-per", "synapse")
    assert code == 0 and "total" in out and "analog" in out
    code, _, err = run_main(capsys, "energy", str(path))
    assert code == 2 and "--task" in err and len(err.strip().splitlines()) == 1
