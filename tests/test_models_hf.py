"""Initialisation from local Hugging Face BERT weights; bert-fp equals HF BertModel."""

import json

import pytest
import torch

from otters.errors import OttersError
from otters.models import build_student, hf_geometry, load_hf_weights, minilm_path, student_from_hf

torch.set_num_threads(2)

SENTENCES = [
    "The otter floats on its back and cracks a shell.",
    "Spiking networks fire once: time-to-first-spike coding is sparse!",
    "Short one.",
]


@pytest.fixture(scope="module")
def minilm_dir():
    try:
        return minilm_path()
    except OttersError as exc:
        pytest.skip(str(exc))


def test_bert_fp_equals_hf_bert_model(minilm_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    reference = BertModel.from_pretrained(str(minilm_dir)).eval()
    student = student_from_hf("minilm-l6", "bert-fp").eval()
    assert student.config.geometry == "minilm-l6" and student.config.num_hidden_layers == 6
    with torch.no_grad():
        ref = reference(**batch, output_hidden_states=True)
        out = student(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    real = batch["attention_mask"].bool()
    assert len(out.hidden_states) == len(ref.hidden_states) == 7
    for ours, theirs in zip(out.hidden_states, ref.hidden_states):
        torch.testing.assert_close(ours[real], theirs[real], rtol=0, atol=1e-5)
    torch.testing.assert_close(out.pooled, ref.pooler_output, rtol=0, atol=1e-5)


def test_quantized_preset_initialises_from_minilm(minilm_dir):
    student = student_from_hf(minilm_dir, "otters-1bitkv", num_labels=3)
    assert student.config.hidden_act == "relu" and student.config.weight_bits == 1
    from safetensors import safe_open

    with safe_open(str(minilm_dir / "model.safetensors"), framework="pt") as fh:
        w = fh.get_tensor("encoder.layer.2.attention.self.value.weight")
    assert torch.equal(student.bert.layers[2].attn.value.weight.detach(), w)
    assert student.classifier.weight.shape == (3, 384)


def _fake_hf_dir(tmp_path, model_type="bert", with_weights=True, extra_key=None):
    model = build_student("bert-fp", "tiny")
    geometry = {k: getattr(model.config, k) for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                                      "num_attention_heads", "intermediate_size",
                                                      "max_position_embeddings", "type_vocab_size")}
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, **geometry}))
    if with_weights:
        from safetensors.torch import save_file

        tensors = {"bert.encoder.layer.0.attention.self.query.weight": torch.ones(32, 32),
                   "bert.embeddings.LayerNorm.gamma": torch.full((32,), 2.0)}
        if extra_key:
            tensors[extra_key] = torch.zeros(1)
        save_file(tensors, str(tmp_path / "model.safetensors"))
    return tmp_path


def test_prefixed_and_legacy_names_load(tmp_path):
    directory = _fake_hf_dir(tmp_path)
    model = build_student("sorbet", directory)
    report = load_hf_weights(model, directory)
    assert report["loaded"] == ["bert.embeddings.norm.weight", "bert.layers.0.attn.query.weight"]
    assert torch.equal(model.bert.layers[0].attn.query.weight.detach(), torch.ones(32, 32))
    assert torch.equal(model.bert.embeddings.norm.weight.detach(), torch.full((32,), 2.0))


def test_bad_directories(tmp_path):
    with pytest.raises(OttersError, match="config.json"):
        hf_geometry(tmp_path)
    (tmp_path / "gpt").mkdir()
    with pytest.raises(OttersError, match="not a BERT"):
        hf_geometry(_fake_hf_dir(tmp_path / "gpt", model_type="gpt2"))
    (tmp_path / "bin").mkdir()
    directory = _fake_hf_dir(tmp_path / "bin", with_weights=False)
    (directory / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(OttersError, match="safetensors only"):
        student_from_hf(directory)
    (tmp_path / "odd").mkdir()
    with pytest.raises(OttersError, match="unexpected tensor"):
        student_from_hf(_fake_hf_dir(tmp_path / "odd", extra_key="decoder.weight"))
