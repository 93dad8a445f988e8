"""Acceptance: whole-model M-TTFS through the minilm-l6 geometry on real rt sentences.

The student is initialised from the packaged MiniLM (student_from_hf), its LSQ steps calibrated on 16
rt validation reviews; the M-TTFS silent levels are calibrated on 16 other reviews; the SNN (every
population masked, K/V decoded with polarity) must equal the QNN (k = 0) or the dead-zone QNN (k = 2)
bit for bit, with at most one spike per neuron.
"""

import pytest
import torch

from otters.models.packing import binary_modules
from otters.snn.bert import BertActivity, iter_batches, verify_bert
from otters.snn.convert import convert
from otters.snn.mttfs import calibrate_silent, configure_coding
from otters.snn.mttfs.bert import silent_ratios
from snn_bert_helpers import rt_sentences

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentences():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return rt_sentences(40)


def _rows(batch, start, stop):
    part = {k: v[start:stop] for k, v in batch.items()}
    ids, mask, types = next(iter_batches(part["input_ids"], part["attention_mask"], part["token_type_ids"], 64))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


@pytest.mark.parametrize("preset", ["otters-1bitkv", "otters-4bitkv"])
@pytest.mark.parametrize("dead_zone", [0, 2])
def test_minilm_mttfs_student_is_bit_exact_on_real_sentences(sentences, preset, dead_zone):
    from otters.models import student_from_hf

    model = student_from_hf("minilm-l6", preset).eval()
    with torch.no_grad():
        model(**_rows(sentences, 24, 40))  # LSQ steps from 16 real sentences
    for module in binary_modules(model).values():  # frozen binary codes, as a packed checkpoint loads
        module.freeze()
    silent = calibrate_silent(model, _rows(sentences, 8, 24))
    assert any(int(m) != model.get_submodule(n).qmin for n, m in silent.items())
    configure_coding(model, "mttfs", dead_zone, silent=silent)
    snn = convert(model)
    assert snn.coding == "mttfs"
    batch = _rows(sentences, 0, 8)
    result = verify_bert(model, snn, **batch, batch_size=8)
    assert result.exact, result.first_inexact
    assert result.max_spikes_per_neuron <= 1
    activity = BertActivity()
    snn(**batch, activity=activity)
    ratio = silent_ratios(activity)["overall"]
    assert 0.0 < ratio < 1.0
