"""Acceptance: the converted minilm-l6 students reproduce their QNN bit for bit on real sentences.

Full minilm-l6 geometry initialised from the packaged MiniLM (student_from_hf), rt validation
reviews tokenised with its tokenizer. "hf": the initialised, calibrated student; "distilled": after
a few knowledge-distillation steps from the full-precision MiniLM (weights, LSQ steps and BSPN
statistics moved). 256 sentences for the distilled otters-1bitkv, 32 for the other cases.
"""

import pytest
import torch

from otters.models.packing import binary_modules
from otters.snn.bert import iter_batches, verify_bert
from otters.snn.convert import convert
from snn_bert_helpers import distill_steps, rt_sentences

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentences():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return rt_sentences(256)


@pytest.fixture(scope="module")
def teacher():
    from otters.models import student_from_hf

    return student_from_hf("minilm-l6", "bert-fp").eval()


def _first(batch, n):
    return {k: v[:n] for k, v in batch.items()}


def _calibration(batch):
    ids, mask, types = next(iter_batches(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], 16))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


@pytest.mark.parametrize("preset, init, n", [
    ("otters-1bitkv", "distilled", 256),
    ("otters-1bitkv", "hf", 32),
    ("otters-4bitkv", "hf", 32),
    ("otters-4bitkv", "distilled", 32),
    ("sorbet", "hf", 32),
    ("sorbet", "distilled", 32),
])
def test_minilm_student_is_bit_exact_on_real_sentences(sentences, teacher, preset, init, n):
    from otters.models import student_from_hf

    model = student_from_hf("minilm-l6", preset).eval()
    calibration = _calibration(sentences)
    with torch.no_grad():
        model(**calibration)  # LSQ steps from 16 real sentences
    if init == "distilled":
        distill_steps(model, teacher, calibration, steps=2)
        assert float(model.bert.layers[0].attn_norm.running_quad.mean()) != 1.0  # BSPN statistics moved
    if init == "hf":  # frozen binary codes, as a packed checkpoint loads; distilled students keep their latent
        for module in binary_modules(model).values():  # weights (codes and scales re-derived at every forward)
            module.freeze()
    batch = _first(sentences, n)
    result = verify_bert(model, convert(model), **batch, batch_size=32, traces=False)
    assert result.samples == n
    assert result.exact, result.first_inexact
    logits = next(c for c in result.layers if c.name == "logits")
    assert logits.mismatches == 0 and logits.max_diff == 0.0
