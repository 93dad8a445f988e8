"""Packed checkpoints: bit packing, exact save/load round trip, storage size, ``otters info``."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.errors import OttersError
from otters.models import build_student, load_student, save_student, storage_report
from otters.models.packing import CONFIG_FILE, pack_bits, unpack_bits

torch.set_num_threads(1)


@settings(max_examples=30)
@given(rows=st.integers(1, 9), cols=st.integers(1, 13), seed=st.integers(0, 10_000))
def test_pack_unpack_bits_round_trip(rows, cols, seed):
    g = torch.Generator().manual_seed(seed)
    codes = (torch.randint(0, 2, (rows, cols), generator=g) * 2 - 1).to(torch.int8)
    bits = pack_bits(codes)
    assert bits.dtype == torch.uint8 and bits.numel() == (rows * cols + 7) // 8
    assert torch.equal(unpack_bits(bits, (rows, cols)), codes)


def _trained(preset):
    torch.manual_seed(0)
    model = build_student(preset, "tiny", bspn_warmup=1)
    ids = torch.randint(1, 128, (3, 10))
    model.train()
    for _ in range(2):
        model(ids)
    return model.eval(), ids


@pytest.mark.parametrize("preset", ["bert-fp", "qnn-w1a4", "otters-1bitkv"])
def test_save_load_round_trip_is_exact(preset, tmp_path):
    model, ids = _trained(preset)
    save_student(model, tmp_path / "ckpt")
    loaded = load_student(tmp_path / "ckpt")
    assert not loaded.training and loaded.config == model.config
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    with torch.no_grad():
        a, b = model(ids, mask), loaded(ids, mask)
    assert torch.equal(a.logits, b.logits)
    for x, y in zip(a.hidden_states, b.hidden_states):
        assert torch.equal(x, y)
    if preset != "bert-fp":
        original = model.bert.layers[1].ffn1.weight_codes()
        reloaded = loaded.bert.layers[1].ffn1.weight_codes()
        assert torch.equal(original[0], reloaded[0]) and torch.equal(original[1], reloaded[1])
        assert loaded.bert.layers[1].ffn1.frozen


def test_latent_weights_are_kept_on_request(tmp_path):
    model, _ = _trained("sorbet")
    save_student(model, tmp_path / "ckpt", latent=True)
    loaded = load_student(tmp_path / "ckpt")
    assert not loaded.bert.layers[0].attn.query.frozen
    assert torch.equal(loaded.bert.layers[0].attn.query.weight, model.bert.layers[0].attn.query.weight)


def test_packed_bits_are_the_storage(tmp_path):
    model, _ = _trained("otters-1bitkv")
    save_student(model, tmp_path / "ckpt")
    meta = json.loads((tmp_path / "ckpt" / CONFIG_FILE).read_text())
    report = storage_report(model)
    assert meta["storage"]["storage_bytes"] == report["storage_bytes"]
    linears = [lin for layer in model.bert.layers
               for lin in (layer.attn.query, layer.attn.key, layer.attn.value, layer.attn.out, layer.ffn1, layer.ffn2)]
    expected = sum((lin.weight.numel() + 7) // 8 + 4 for lin in linears)  # bits + one float32 scale each
    assert report["parts"]["encoder_binary_weights"]["bytes"] == expected


def test_bert_base_packed_size_is_in_the_paper_range():
    with torch.device("meta"):
        report = storage_report(build_student("otters-1bitkv", "bert-base"))
        fp = storage_report(build_student("bert-fp", "bert-base"))
    assert 12.5 <= report["storage_mb"] <= 14.0
    assert 417 <= fp["storage_mb"] <= 419  # the tables' fp32 BERT-base: 418 MB


def test_load_rejects_foreign_directory(tmp_path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(OttersError):
        load_student(tmp_path)
    with pytest.raises(OttersError):
        load_student(tmp_path / "missing")


def test_cli_info(tmp_path, capsys):
    from otters.cli.app import main

    model, _ = _trained("sorbet")
    save_student(model, tmp_path / "ckpt")
    main(["info", str(tmp_path / "ckpt"), "--json"])
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert info["storage_mb"] == pytest.approx(storage_report(model)["storage_mb"])
    assert "encoder_binary_weights" in info["parts"] and info["file_bytes"] > info["storage_bytes"]
    main(["info", "--preset", "otters-1bitkv", "--geometry", "tiny", "--json"])
    assert json.loads(capsys.readouterr().out)["preset"] == "otters-1bitkv"
    with pytest.raises(SystemExit) as exit_info:
        main(["info", "--preset", "nope"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("otters: error: unknown preset")
