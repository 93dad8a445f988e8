"""Acceptance: sign-split TTFS through the minilm-l6 geometry on real rt sentences, bit-exact.

The HF-initialised otters-1bitkv student (LSQ steps calibrated on 16 other reviews) on 32 rt
validation reviews, and two committed trained rt students (base, and from the 84.01 % teacher) on 16;
each converted with coding "split" (every signed population silent at zero, two sub-populations) must equal its QNN bit for bit
with at most one spike per neuron, and silence more of its signed populations than the offset code.
"""

from pathlib import Path

import pytest
import torch

from otters.models.packing import binary_modules
from otters.snn.bert import BertActivity, iter_batches, verify_bert
from otters.snn.convert import convert
from otters.snn.mttfs import configure_coding, load_coded_student
from otters.snn.mttfs.bert import silent_ratios
from snn_bert_helpers import rt_sentences

pytestmark = pytest.mark.slow
CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(scope="module")
def sentences():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return rt_sentences(48)


def _rows(batch, start, stop):
    part = {k: v[start:stop] for k, v in batch.items()}
    ids, mask, types = next(iter_batches(part["input_ids"], part["attention_mask"], part["token_type_ids"], 128))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _check_split(model, batch):
    configure_coding(model, "split")
    snn = convert(model)
    result = verify_bert(model, snn, **batch, batch_size=16)
    assert result.exact, result.first_inexact
    assert result.max_spikes_per_neuron <= 1
    split, offset = BertActivity(), BertActivity()
    snn(**batch, activity=split)
    convert(model, coding="ttfs")(**batch, activity=offset)
    q = [n for n in split.populations if n.endswith(".q_quant")]
    assert silent_ratios(split, q)["overall"] > silent_ratios(offset, q)["overall"]


def test_minilm_split_student_is_bit_exact_on_real_sentences(sentences):
    from otters.models import student_from_hf

    model = student_from_hf("minilm-l6", "otters-1bitkv").eval()
    with torch.no_grad():
        model(**_rows(sentences, 32, 48))  # LSQ steps from 16 other real sentences
    for module in binary_modules(model).values():
        module.freeze()
    _check_split(model, _rows(sentences, 0, 32))


@pytest.mark.parametrize("name", ["rt-otters-1bitkv", "rt-otters-1bitkv-t84"])
def test_committed_students_are_bit_exact_with_split_coding(sentences, name):
    model = load_coded_student(CHECKPOINTS / name).eval()
    _check_split(model, _rows(sentences, 0, 16))
