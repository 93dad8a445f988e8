"""The measured operation audit: the hardware executor's counted operations equal the counting rules,
its logits equal the fast simulator's, and a multiplication slipped into one block is seen there."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.errors import OttersError
from otters.models import build_student
from otters.snn.audit import COUNT_KEYS, AuditSettings
from otters.snn.audit_measured import measured_audit
from otters.snn.convert import convert
from otters.snn.hardware import HardwareExecutor
from otters.snn.op_counter import OpCounter
from snn_bert_helpers import calibrated, tiny_batch


def _model(preset, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_student(preset, "tiny")
    return calibrated(model, tiny_batch(seed))


@pytest.fixture(scope="module")
def one_bit():
    model = _model("otters-1bitkv")
    return model, convert(model)


@pytest.mark.parametrize("preset, placement", [("otters-1bitkv", "column"), ("otters-1bitkv", "spike"),
                                                ("otters-4bitkv", "column")])
def test_measured_counts_equal_the_rules_block_by_block(preset, placement):
    model = _model(preset)
    batch = tiny_batch(1, rows=3)
    measured, rules = measured_audit(model, **batch, settings=AuditSettings(adc_per=placement, column_rows=16))
    by_block = {r.block: r for r in rules.rows}
    for row in measured.rows:
        if row.path == "spiking":
            assert row.counts() == by_block[row.block].counts(), row.block
            assert set(row.ops.get("adds", {})) <= {"measured"}
    assert measured.totals("spiking") == rules.totals("spiking")
    assert set(measured.totals("spiking")) == set(COUNT_KEYS)
    mults = measured.totals("spiking")["mults"]
    assert (mults == 0) if preset == "otters-1bitkv" else (mults > 0)


def test_injected_multiplication_is_counted_in_its_block(one_bit):
    _model_, snn = one_bit
    batch = tiny_batch(2, rows=2)
    target = snn.layers[0].ffn1.name

    class Sloppy(HardwareExecutor):
        def linear(self, stage, steps):
            acc = super().linear(stage, steps)
            if stage.name == target:
                with self._block(stage.name):
                    acc[:1, :1] * 1  # one multiplication the hardware would not do
            return acc

    counter = OpCounter()
    Sloppy(snn, counter=counter, column_rows=16).forward(**{k: v[:1] for k, v in batch.items()})  # one sentence
    mults = {name: block.ops["mults"] for name, block in counter.blocks.items() if block.ops["mults"]}
    assert mults == {target: 1}


def test_executor_spikes_are_crossings_and_a_broken_reset_fires_twice(one_bit):
    model, snn = one_bit
    batch = tiny_batch(3, rows=2)
    good = HardwareExecutor(snn, column_rows=16).forward(**batch)
    assert max(good.max_spikes.values()) == 1
    mask = batch["attention_mask"]
    for row in range(2):
        real = mask[row].bool()
        fast = snn(batch["input_ids"][row][real][None], None, batch["token_type_ids"][row][real][None]).logits
        assert torch.equal(good.logits[row], fast[0])
    broken = HardwareExecutor(snn, column_rows=16, broken_reset=True).forward(**batch)
    assert max(broken.max_spikes.values()) >= 2


def test_refusals(one_bit):
    model, snn = one_bit
    with pytest.raises(OttersError, match="column and spike"):
        measured_audit(model, **tiny_batch(0, rows=2), settings=AuditSettings(adc_per="synapse"), snn=snn)
    with pytest.raises(OttersError, match="adc_per"):
        HardwareExecutor(snn, adc_per="row")


def test_cli_measured_json(capsys):
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-1bitkv", "--geometry", "tiny", "--measured",
                            "--column-rows", "16", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["measured"] is True and data["measured_paths"] == ["spiking"]
    assert data["spiking"]["mults"] == 0
    for key in ("adds", "subs", "compares", "shifts", "device_reads", "adc", "spikes"):
        assert data["spiking"][key] == data["rule_based"]["spiking"][key]
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-1bitkv", "--geometry", "tiny", "--json")
    assert code == 0 and json.loads(out)["measured"] is False


@pytest.mark.slow
def test_minilm_measured_audit_acceptance(capsys):
    """The acceptance command on the full minilm-l6 geometry (one real sentence)."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    code, out, _ = run_main(capsys, "audit", "--preset", "otters-1bitkv", "--geometry", "minilm-l6", "--measured",
                            "--json")
    assert code == 0
    data = json.loads(out)
    assert data["measured"] is True and data["spiking"]["mults"] == 0
    for key in ("adds", "subs", "compares"):
        assert data["spiking"][key] == data["rule_based"]["spiking"][key] > 0
